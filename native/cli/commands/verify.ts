// `switch-mode verify ARCHIVE` on the ts side (restore.md §10): checksum, decryption (--identity, repeatable;
// the age CLI), one full read of the tar stream, unsafe entries, the .metadata sidecar and the metadata file
// inside the archive — the options, log lines (stdout) and exit codes of `legacy/bin/proxmox-restore verify`.
// bin/switch-mode routes here when the `cli` flag is ts.
import { accessSync, closeSync, constants, openSync, readSync, rmSync, statSync } from 'node:fs';
import { esc } from '../../core/esc.js';
import type { ExitStatus } from '../../core/exit-code.js';
import { humanSize } from '../../core/human.js';
import { hasProgram } from '../../core/programs.js';
import { escPath, fromBytes, fsPath, toBytes } from '../../core/bytes-path.js';
import { ARCHIVE_FORMAT_RE, compressionOf, metadataValue, sidecarHash } from '../../restore/archives.js';
import { DECOMPRESSORS, readArchiveStream, sha256Within } from '../../restore/stream.js';
import { readListing, type Listing } from '../../restore/tar-reader.js';
import { cloudEnabled, cloudFetch, findLocal, readBytes, statBytes as stat, type TierSettings } from '../../restore/tiers.js';
import type { CliEnvironment } from '../environment.js';
import { openTool, usageError, type ToolContext } from './restore-tool.js';

/** The in-archive metadata file, as `tar -xOf - --wildcards '*var/lib/proxmox-backup-info/backup_metadata.txt'` picks it. */
const INNER_METADATA = /var\/lib\/proxmox-backup-info\/backup_metadata\.txt(\/|$)/s;

/** A byte string as message text (Bash puts the bytes in the line; the log sanitises control bytes). */
const text = fromBytes;

/** `head -c 22 | tr -d '\n'`. */
function header(path: string): string {
  try {
    const fd = openSync(fsPath(path), 'r');
    try {
      const buffer = Buffer.alloc(22);
      return buffer.subarray(0, readSync(fd, buffer, 0, 22, 0)).toString('latin1').replaceAll('\n', '');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

class VerifyFailed extends Error {}

interface Verify {
  readonly tool: ToolContext;
  readonly settings: TierSettings;
  readonly archive: string;   // byte string
  readonly name: string;      // byte string
  sidecarSha?: string;
}

function fail(v: Pick<Verify, 'tool'>, message: string): never {
  v.tool.log.error(message);
  v.tool.log.error('Archive verification failed');
  throw new VerifyFailed(message);
}

/** Step 1: the sidecar. */
async function checkSidecar(v: Verify): Promise<void> {
  const { log } = v.tool;
  if (stat(`${v.archive}.sha256`) === undefined) {
    log.warning(`Checksum file missing: ${text(v.name)}.sha256`);
    return;
  }
  const expected = sidecarHash(readBytes(`${v.archive}.sha256`) ?? '', v.name);
  if (expected === undefined) {
    log.warning(`Checksum file invalid: ${text(v.name)}.sha256`);
    return;
  }
  v.sidecarSha = expected;
  if (await sha256Within(v.archive, v.tool.config.VERIFICATION_TIMEOUT) !== expected) fail(v, `Checksum mismatch for ${text(v.name)}`);
  log.success('Checksum ok');
}

/** Steps 3 and 4: the whole stream read once; the in-archive metadata file's bytes kept. */
async function readArchive(v: Verify, identities: readonly string[]): Promise<{ listing: Listing; inner: string }> {
  const compression = compressionOf(v.name);
  const program = DECOMPRESSORS[compression]?.[0] ?? 'cat';
  if (!hasProgram(program, v.settings.env.PATH ?? '')) fail(v, `Cannot decompress ${text(v.name)}: ${program} not found`);
  const inner: Buffer[] = [];
  const read = await readArchiveStream(v.name, {
    archive: v.archive, compression, identities, env: v.settings.env, timeoutSeconds: v.tool.config.EXTRACTION_TIMEOUT,
  }, (reader) => readListing(reader, (entry) => INNER_METADATA.test(entry.name), (chunk) => inner.push(Buffer.from(chunk))));
  if (!read.ok) fail(v, read.message);
  const listing = read.value;
  v.tool.log.success(`Archive read: ${listing.entries} entries (${listing.files} files, ${listing.symlinks} symlinks, `
    + `${listing.hardLinks} hard links, ${listing.directories} directories), ${humanSize(listing.fileBytes)} of file data`);
  for (const unsafe of listing.unsafe) v.tool.log.warning(`Unsafe entry ${escPath(unsafe.name)}: ${unsafe.reason}`);
  return { listing, inner: Buffer.concat(inner).toString('latin1') };
}

function compare(v: Verify, key: string, stated: string, actual: string): void {
  if (stated !== '' && stated !== actual) fail(v, `Metadata mismatch: ${key} is ${escPath(stated)}, archive has ${escPath(actual)}`);
}

/** Steps 5 and 6: the .metadata sidecar, then the metadata file inside the archive. */
function checkMetadata(v: Verify, listing: Listing, inner: string): void {
  const included = String(listing.filesIncluded);
  const meta = `${v.archive}.metadata`;
  if (stat(meta)?.isFile() === true) {
    const content = readBytes(meta) ?? '';
    compare(v, 'FILES_INCLUDED', metadataValue(content, 'FILES_INCLUDED'), included);
    compare(v, 'UNCOMPRESSED_SIZE', metadataValue(content, 'UNCOMPRESSED_SIZE'), String(listing.fileBytes));
    compare(v, 'ENCRYPTED', metadataValue(content, 'ENCRYPTED'), String(v.name.endsWith('.age')));
    const stated = metadataValue(content, 'COMPRESSION_TYPE');
    compare(v, 'COMPRESSION_TYPE', stated === 'pigz' ? 'gzip' : stated, compressionOf(v.name));
    if (v.sidecarSha !== undefined) compare(v, 'SHA256', metadataValue(content, 'SHA256'), v.sidecarSha);
  } else {
    v.tool.log.warning(`Metadata file missing: ${text(v.name)}.metadata`);
  }
  const inside = inner.replace(/\n+$/, '');
  if (inside === '') v.tool.log.info('No metadata file inside the archive (older format)');
  else compare(v, 'FILES_INCLUDED', metadataValue(inside, 'FILES_INCLUDED'), included);
}

type Resolved = { archive: string; download?: string } | ExitStatus;

/** resolve_archive (restore.md §3): a path, or a name looked up on the tiers (the cloud copy downloaded). */
export async function resolveArchive(tool: ToolContext, settings: TierSettings, arg: string): Promise<Resolved> {
  const { log } = tool;
  if (arg.includes('/')) {
    const name = arg.slice(arg.lastIndexOf('/') + 1);
    if (!ARCHIVE_FORMAT_RE.test(name)) {
      log.error(`Unknown archive format: ${esc(name)}`);
      return 2;
    }
    if (stat(toBytes(arg))?.isFile() !== true) {
      log.error(`Archive not found: ${esc(arg)}`);
      return 2;
    }
    return { archive: toBytes(arg) };
  }
  const local = findLocal(toBytes(arg), settings);
  if (local !== undefined) return { archive: local };
  if (cloudEnabled(settings)) {
    const fetched = await cloudFetch(toBytes(arg), tool.environment.baseDir, tool.environment.now(), settings);
    if (fetched.kind === 'fetched') return { archive: fetched.archive, download: fetched.dir };
    if (fetched.kind === 'failed') {
      if (fetched.dir !== undefined) rmSync(fetched.dir, { recursive: true, force: true });
      log.error(fetched.message);
      return 2;
    }
  }
  log.error(`Archive not found: ${esc(arg)}`);
  return 2;
}

export async function runVerify(environment: CliEnvironment, args: readonly string[]): Promise<ExitStatus> {
  const tool = openTool(environment, args);
  if (typeof tool === 'number') return tool;
  const identities: string[] = [];
  let arg = '';
  for (let i = 0; i < tool.rest.length; i += 1) {
    const a = tool.rest[i] ?? '';
    if (a === '--identity') {
      const next = tool.rest[i + 1];
      if (next === undefined) return usageError(environment.codeDir, '--identity needs a file');
      identities.push(next);
      i += 1;
    } else if (a.startsWith('--identity=')) identities.push(a.slice('--identity='.length));
    else if (a.startsWith('-')) return usageError(environment.codeDir, `Unknown option: ${esc(a)}`);
    else if (arg !== '') return usageError(environment.codeDir, 'verify takes one archive');
    else arg = a;
  }
  if (arg === '') return usageError(environment.codeDir, 'verify needs an archive (a path or a name on the tiers)');
  const settings: TierSettings = { config: tool.config, env: environment.env };
  const resolved = await resolveArchive(tool, settings, arg);
  if (typeof resolved === 'number') return resolved;
  try {
    return await verifyArchive(tool, settings, resolved.archive, identities);
  } catch (error) {
    if (error instanceof VerifyFailed) return 2;
    throw error;
  } finally {
    if (resolved.download !== undefined) rmSync(resolved.download, { recursive: true, force: true });
  }
}

async function verifyArchive(tool: ToolContext, settings: TierSettings, archive: string, identities: readonly string[]): Promise<ExitStatus> {
  const { log, exitCode } = tool;
  const name = archive.slice(archive.lastIndexOf('/') + 1);
  const v: Verify = { tool, settings, archive, name };
  log.step(`Verify ${escPath(name)}`);
  await checkSidecar(v);
  let ageIdentities: readonly string[] = [];
  if (name.endsWith('.age')) {
    if (identities.length === 0) {
      if (header(archive) !== 'age-encryption.org/v1') fail(v, 'Encrypted archive header invalid');
      log.warning('Content not verified: encrypted archive and no --identity given');
      log.warning('Archive verified with warnings');
      return 1;
    }
    for (const file of identities) if (!readable(file)) fail(v, `Cannot read identity ${esc(file)}: not a readable file`);
    if (!hasProgram('age', settings.env.PATH ?? '')) fail(v, `Cannot decrypt ${escPath(name)}: age not found`);
    ageIdentities = identities;
  }
  const { listing, inner } = await readArchive(v, ageIdentities);
  checkMetadata(v, listing, inner);
  if (exitCode.current === 0) log.success('Archive verified');
  else log.warning('Archive verified with warnings');
  return exitCode.current;
}
