// Archive normaliser (ARCHITECTURE "Parity harness"): the archive as a sorted manifest, one line per entry —
// path, type, mode, owner, size, sha256 of the content, link target — never the compressed bytes, which depend
// on the compressor's build. The archive is decompressed by the real CLI tools (as an operator would) and the
// tar stream parsed with the `tar` package, hashing each entry as it streams by: nothing is held in memory.
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import { compressionOfName, openTarStream } from '../../core/tar-stream.js';

const TYPE: Readonly<Record<string, string>> = {
  File: 'f', OldFile: 'f', ContiguousFile: 'f', Directory: 'd', SymbolicLink: 'l', Link: 'h',
  CharacterDevice: 'c', BlockDevice: 'b', FIFO: 'p',
};

export interface ManifestOptions {
  /** An age identity file: `.age` archives are decrypted with the real `age` CLI first. */
  readonly ageIdentity?: string;
  /** uid:gid pairs shown as a token (the user the harness runs as owns every fixture and generated file). */
  readonly selfIds?: { uid: number; gid: number };
}

function owner(entry: ReadEntry, options: ManifestOptions): string {
  const uid = entry.uid ?? -1;
  const gid = entry.gid ?? -1;
  const self = options.selfIds;
  const u = self !== undefined && uid === self.uid ? '<self>' : String(uid);
  const g = self !== undefined && gid === self.gid ? '<self>' : String(gid);
  return `${u}:${g}`;
}

function manifestLine(entry: ReadEntry, sha: string, options: ManifestOptions): string {
  const type = TYPE[entry.type] ?? entry.type;
  const mode = ((entry.mode ?? 0) & 0o7777).toString(8).padStart(4, '0');
  const link = entry.linkpath !== undefined && entry.linkpath !== '' ? ` -> ${JSON.stringify(entry.linkpath)}` : '';
  return `${JSON.stringify(entry.path)} ${type} ${mode} ${owner(entry, options)} ${entry.size ?? 0} ${sha}${link}`;
}

/** Parses a plain tar stream into manifest lines (unsorted, archive order). */
export async function manifestOfTarStream(stream: NodeJS.ReadableStream, options: ManifestOptions = {}): Promise<string[]> {
  const lines: string[] = [];
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      const hash = createHash('sha256');
      entry.on('data', (chunk: Buffer) => hash.update(chunk));
      entry.on('end', () => {
        const isFile = TYPE[entry.type] === 'f';
        lines.push(manifestLine(entry, isFile ? hash.digest('hex') : '-', options));
      });
    },
  });
  await pipeline(stream, parser);
  return lines;
}

/** The sorted manifest of an archive file, by its extension (.tar, .tar.gz, .tar.bz2, .tar.xz, .tar.lzma, .tar.zst, each optionally .age). */
/** archiveManifest's options: the environment of the decompressor and age processes (their PATH) is passed in. */
export interface ArchiveManifestOptions extends ManifestOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
}

export async function archiveManifest(path: string, options: ArchiveManifestOptions): Promise<string> {
  const type = compressionOfName(basename(path));
  if (type === undefined) throw new Error(`not an archive name this normaliser knows: ${basename(path)}`);
  const encrypted = path.endsWith('.age');
  if (encrypted && options.ageIdentity === undefined) throw new Error(`encrypted archive and no age identity: ${basename(path)}`);
  const tar = openTarStream(path, { type, ageIdentity: encrypted ? options.ageIdentity : undefined, env: options.env });
  const [lines, failure] = await Promise.all([manifestOfTarStream(tar.stream, options).catch((e: unknown) => e), tar.done]);
  if (failure !== undefined) throw new Error(`cannot read ${basename(path)}: ${failure}`);
  if (!Array.isArray(lines)) throw lines instanceof Error ? lines : new Error(String(lines));
  return sortManifest(lines as string[]);
}

function sortManifest(lines: string[]): string {
  return lines.sort(compareBytes).map((l) => `${l}\n`).join('');
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
