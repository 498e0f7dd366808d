// backup_verify (archive.md §6): checksum, decompression, full listing, entry count, critical directories and
// files — the same checks, outcomes and lines as legacy/lib/verify.sh, in one streaming pass over the archive
// (the real decompressor CLI, the `tar` parser; nothing held in memory).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, openSync, readFileSync, readSync, closeSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import type { ExitStatus } from '../core/exit-code.js';
import type { RunLog } from '../core/log.js';
import type { RunDir } from '../core/run-dir.js';
import { isFile } from '../core/programs.js';
import { openTarStream } from '../core/tar-stream.js';
import type { NativeStageContext } from '../core/stage.js';

const C_DIR = './var/lib/proxmox-backup-info/commands';

/** backup_critical_list: the critical files of this host type that the configuration asked for. */
export function criticalList({ config, facts }: Pick<NativeStageContext, 'config' | 'facts'>, staging: string): string[] {
  const type = facts.PROXMOX_TYPE;
  const pve = type === 'pve' || type === 'dual';
  const pbs = type === 'pbs' || type === 'dual';
  const list: string[] = [];
  const trim = (p: string): string => p.replace(/\/+$/, '');
  if (pve && config.BACKUP_CLUSTER_CONFIG) {
    const p = trim(config.PVE_CONFIG_PATH);
    list.push(`.${p}/storage.cfg`, `.${p}/user.cfg`, `.${p}/datacenter.cfg`, `.${trim(config.PVE_CLUSTER_PATH)}/config.db`);
  }
  if (pve && config.BACKUP_COROSYNC_CONFIG && existsSync(join(staging, 'etc/corosync'))) list.push('./etc/corosync/corosync.conf');
  if (pbs) list.push('./etc/proxmox-backup/user.cfg', './etc/proxmox-backup/datastore.cfg', `${C_DIR}/pbs/datastore_list.json`, `${C_DIR}/pbs/user_list.json`);
  return list;
}

function withTimeout<T>(promise: Promise<T>, seconds: number, onTimeout: () => void): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      onTimeout();
      resolve('timeout');
    }, seconds * 1000);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function checksumOk(archive: string, seconds: number): Promise<boolean> {
  const line = readFileSync(`${archive}.sha256`, 'utf8').replace(/\n+$/, '');
  const sep = line.indexOf('  ');
  if (sep < 0 || line.slice(sep + 2) !== basename(archive)) return false;
  const actual = await withTimeout(sha256File(archive), seconds, () => undefined).catch(() => 'error');
  return actual === line.slice(0, sep);
}

interface Listing { readonly count: number; readonly listed: Set<string>; readonly sizes: Map<string, number> }
type Scan = { ok: true; listing: Listing } | { ok: false; failure: 'decompress' | 'list' };

/**
 * One pass: decompress (the CLI) → parse. Counts the entries and keeps only what the checks look up (the
 * critical directories and files, with their content size): memory does not grow with the archive.
 */
async function scanArchive(archive: string, type: string, wanted: ReadonlySet<string>, seconds: number,
  env: Readonly<Record<string, string | undefined>>): Promise<Scan> {
  let count = 0;
  const listed = new Set<string>();
  const sizes = new Map<string, number>();
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      count += 1;
      if (!wanted.has(entry.path)) {
        entry.resume();
        return;
      }
      listed.add(entry.path);
      let bytes = 0;
      entry.on('data', (chunk: Buffer) => { bytes += chunk.length; });
      entry.on('end', () => { sizes.set(entry.path, bytes); });
    },
  });
  const tar = openTarStream(archive, { type, env });
  const parsed = pipeline(tar.stream, parser).then(() => true, () => false);
  const result = await withTimeout(Promise.all([tar.done, parsed]), seconds, () => tar.kill());
  if (result === 'timeout' || result[0] !== undefined) return { ok: false, failure: 'decompress' };
  return result[1] ? { ok: true, listing: { count, listed, sizes } } : { ok: false, failure: 'list' };
}

function fail(log: RunLog, runDir: RunDir, message: string): ExitStatus {
  log.error(message);
  log.error('Backup verification failed');
  runDir.setState('STATUS_VERIFY', '2');
  return 2;
}

function encryptedHeaderOk(archive: string): boolean {
  const fd = openSync(archive, 'r');
  try {
    const head = Buffer.alloc(22);
    const read = readSync(fd, head, 0, 22, 0);
    return head.subarray(0, read).toString('latin1').replace(/\n+$/, '') === 'age-encryption.org/v1';
  } finally {
    closeSync(fd);
  }
}

export async function backupVerify(context: NativeStageContext): Promise<ExitStatus> {
  const { runDir, log, env, config, facts, state } = context;
  if (facts.DRY_RUN) return 0;
  log.step('Verifying backup archive');
  const archive = state.get('BACKUP_FILE');
  if (archive === '' || !isFile(archive)) return fail(log, runDir, 'Backup file not found');
  if (!isFile(`${archive}.sha256`)) return fail(log, runDir, 'Checksum file not found');
  if (statSync(archive).size === 0) return fail(log, runDir, 'Backup file is empty');
  if (!(await checksumOk(archive, config.VERIFICATION_TIMEOUT))) return fail(log, runDir, 'Checksum verification failed or timed out');
  if (config.ENCRYPT_ARCHIVE) {
    if (!encryptedHeaderOk(archive)) return fail(log, runDir, 'Encrypted archive header invalid');
    log.info('Content verification skipped: archive is encrypted');
    log.success('Archive verification completed successfully');
    state.set('STATUS_VERIFY', '0');
    return 0;
  }
  const critical = criticalList(context, runDir.staging).filter((rel) => isFile(join(runDir.staging, rel.slice(2))));
  const type = facts.PROXMOX_TYPE;
  const dirs = ['./etc/'];
  if (type === 'pve' || type === 'dual') dirs.push('./etc/pve/', './var/lib/pve-cluster/');
  if (type === 'pbs' || type === 'dual') dirs.push('./etc/proxmox-backup/');
  const scan = await scanArchive(archive, state.get('COMPRESSION_EFFECTIVE'), new Set([...critical, ...dirs]),
    config.EXTRACTION_TIMEOUT, env);
  if (!scan.ok) return fail(log, runDir, scan.failure === 'decompress' ? 'Archive header test failed' : 'Failed to list archive contents');
  const { count, listed, sizes } = scan.listing;
  if (count === 0) return fail(log, runDir, 'Archive content list is empty');
  const staged = Number(state.get('STAGED_ENTRIES'));
  if (count !== staged) return fail(log, runDir, `Archive incomplete: ${count} entries, ${staged} staged`);
  let warned = false;
  for (const dir of dirs) {
    if (!listed.has(dir)) {
      log.warning(`Critical directory missing - Directory: ${dir}`);
      warned = true;
    }
  }
  for (const rel of critical) {
    if (!listed.has(rel)) {
      log.warning(`Critical file not found - File: ${rel}`);
      warned = true;
    } else if ((sizes.get(rel) ?? 0) === 0) {
      log.warning(`Extracted file is empty or missing - File: ${rel}`);
      warned = true;
    }
  }
  if (warned) {
    log.warning('Archive verification completed with warnings');
    state.set('STATUS_VERIFY', '1');
    return 1;
  }
  log.success('Archive verification completed successfully');
  state.set('STATUS_VERIFY', '0');
  return 0;
}
