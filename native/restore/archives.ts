// Archive names, sidecars, the list rows and their two renderings (restore.md §2, §4.1): the pure part of
// `list` and `verify`, kept free of I/O so the native `restore` reuses it. Names are byte strings: a latin1
// JS string holds one byte per code unit, so a name that is not UTF-8 is compared, sorted and padded by its
// bytes as the legacy tool (Bash, sort, perl) does.
import { compareBytes, escPath, toBytes } from '../core/bytes-path.js';
import { humanSize } from '../core/human.js';
import { jsonObjects } from '../core/json-objects.js';

/** legacy/bin/proxmox-restore's ARCHIVE_RE: type, host, date, hh, mm, ss, compression suffix, .age. */
export const ARCHIVE_RE = /^(pve|pbs|dual|unknown)-backup-(.+)-([0-9]{4}-[0-9]{2}-[0-9]{2})_([0-9]{2})-([0-9]{2})-([0-9]{2})\.tar(\.(xz|zst|gz|bz2|lzma))?(\.age)?$/s;

/** What resolve_archive accepts as the name of an archive given by path (restore.md §3). */
export const ARCHIVE_FORMAT_RE = /\.tar(\.(xz|zst|gz|bz2|lzma))?(\.age)?$/;

export const TIERS = ['local', 'secondary', 'cloud'] as const;
export type Tier = (typeof TIERS)[number];

export interface ArchiveName {
  readonly type: string;
  readonly host: string;
  readonly date: string;
  readonly time: string;       // HH:MM:SS
  readonly timestamp: string;  // as in the name: YYYY-MM-DD_HH-MM-SS
  readonly encrypted: boolean;
}

export function parseArchiveName(name: string): ArchiveName | undefined {
  const m = ARCHIVE_RE.exec(name);
  if (m === null) return undefined;
  const [, type = '', host = '', date = '', hh = '', mm = '', ss = ''] = m;
  return { type, host, date, time: `${hh}:${mm}:${ss}`, timestamp: `${date}_${hh}-${mm}-${ss}`, encrypted: m[9] !== undefined };
}

/** compression_of: xz|zstd|gzip|bzip2|lzma|none by the suffix (after an `.age`). */
export function compressionOf(name: string): string {
  const plain = name.endsWith('.age') ? name.slice(0, -4) : name;
  const suffixes: readonly (readonly [string, string])[] = [['.tar.xz', 'xz'], ['.tar.zst', 'zstd'], ['.tar.gz', 'gzip'],
    ['.tar.bz2', 'bzip2'], ['.tar.lzma', 'lzma']];
  return suffixes.find(([suffix]) => plain.endsWith(suffix))?.[1] ?? 'none';
}

/** The first line of a text as Bash `IFS= read -r line` gets it (undefined: nothing to read). */
function firstLine(bytes: string): string | undefined {
  if (bytes === '') return undefined;
  const end = bytes.indexOf('\n');
  return end < 0 ? bytes : bytes.slice(0, end);
}

/**
 * sidecar_hash (restore.md §4.1): the lower-case hash of a `.sha256` sidecar's first line — 64 hex, blanks, an
 * optional `*`, a name whose basename is NAME (absolute upstream paths pass) — or undefined when unparsable.
 */
export function sidecarHash(content: string, name: string): string | undefined {
  const line = firstLine(content);
  if (line === undefined) return undefined;
  const m = /^([0-9a-fA-F]{64})[ \t\n\v\f\r]+\*?(.+)$/s.exec(line);
  if (m === null) return undefined;
  const listed = m[2] ?? '';
  return listed.slice(listed.lastIndexOf('/') + 1) === name ? (m[1] ?? '').toLowerCase() : undefined;
}

/** The value of KEY in a metadata text as `grep -m1 "^KEY=" | cut -d= -f2-` prints it ('' when absent). */
export function metadataValue(text: string, key: string): string {
  for (const line of text.split('\n')) if (line.startsWith(`${key}=`)) return line.slice(key.length + 1);
  return '';
}

/** `SHA256` column states: present, missing, invalid; with --check, ok or mismatch. */
export type ShaState = 'present' | 'missing' | 'invalid' | 'ok' | 'mismatch';

export interface ListRow {
  readonly tier: Tier;
  readonly name: string;       // byte string
  readonly location: string;   // byte string: a path or <remote>:<path>/<name>
  readonly size: number;
  readonly sha256: ShaState;
  readonly metadata: boolean;
}

/** A tier that could not be read; MESSAGE is text (esc() output), not a byte string. */
export interface ListError { readonly tier: Tier; readonly message: string }

/** list_sorted: newest timestamp first, then tier (local, secondary, cloud), then name bytewise. */
export function sortRows(rows: readonly ListRow[]): ListRow[] {
  const stamp = (row: ListRow): string => parseArchiveName(row.name)?.timestamp ?? '';
  return [...rows].sort((a, b) => compareBytes(stamp(b), stamp(a)) || TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier)
    || compareBytes(a.name, b.name));
}

/**
 * restore_table: cells left-aligned, padded to the widest cell of their column (by bytes, as perl's sprintf
 * pads), two spaces apart, the last column unpadded. Cells are JS strings (esc() output); one line each.
 */
export function alignTable(rows: readonly (readonly string[])[]): string {
  const width: number[] = [];
  for (const row of rows) {
    row.slice(0, -1).forEach((cell, i) => { width[i] = Math.max(width[i] ?? 0, Buffer.byteLength(cell)); });
  }
  return rows.map((row) => [...row.slice(0, -1).map((cell, i) => cell + ' '.repeat((width[i] ?? 0) - Buffer.byteLength(cell))), row.at(-1) ?? '']
    .join('  ')).map((line) => `${line}\n`).join('');
}

/** The list table (rows already sorted), or '' when there is none. */
export function listTable(rows: readonly ListRow[]): string {
  if (rows.length === 0) return '';
  const cells = rows.map((row) => {
    const n = parseArchiveName(row.name);
    return [row.tier, `${n?.date ?? ''} ${n?.time ?? ''}`, n?.type ?? '', escPath(n?.host ?? ''), humanSize(row.size),
      n?.encrypted === true ? 'yes' : 'no', row.sha256, escPath(row.name)];
  });
  return alignTable([['TIER', 'DATE', 'TYPE', 'HOST', 'SIZE', 'ENC', 'SHA256', 'NAME'], ...cells]);
}

/** --json: JSON.stringify(v, null, 2) plus a newline, as a byte string (names are written as their bytes). */
export function listJson(rows: readonly ListRow[], errors: readonly ListError[]): string {
  const archives = rows.map((row) => {
    const n = parseArchiveName(row.name);
    return { tier: row.tier, name: row.name, location: row.location, timestamp: n?.timestamp ?? '', type: n?.type ?? '',
      host: n?.host ?? '', compression: compressionOf(row.name), encrypted: n?.encrypted === true, size_bytes: row.size,
      sha256: row.sha256, metadata: row.metadata };
  });
  return `${JSON.stringify({ archives, errors: errors.map((e) => ({ tier: e.tier, message: toBytes(e.message) })) }, null, 2)}\n`;
}

/**
 * storage_reason: the first line of rclone's stderr without its date and level prefix, esc()-encoded;
 * `unknown error` when empty.
 */
export function rcloneReason(stderr: string): string {
  let line = stderr.split('\n', 1)[0] ?? '';
  const dated = /^[0-9]{4}\/[0-9]{2}\/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} (.*)$/s.exec(line);
  if (dated !== null) line = dated[1] ?? '';
  const levelled = /^(ERROR|NOTICE|INFO) *: *(: *)?(.*)$/s.exec(line);
  if (levelled !== null) line = levelled[3] ?? '';
  return escPath(line === '' ? 'unknown error' : line);
}

/** restore-json.pl lsjson: rclone lsjson's items as files (names with a tab or newline skipped), or undefined. */
export function parseLsjson(text: string): { size: number; sha256: string | undefined; name: string }[] | undefined {
  const items = jsonObjects(text);
  if (items === undefined) return undefined;
  const files: { size: number; sha256: string | undefined; name: string }[] = [];
  for (const { Name: name, Size: size, Hashes: hashes } of items) {
    if (typeof name !== 'string' || /[\t\n]/.test(name)) continue;
    const sha = typeof hashes === 'object' && hashes !== null ? (hashes as { sha256?: unknown }).sha256 : undefined;
    files.push({ size: typeof size === 'number' ? size : 0, sha256: typeof sha === 'string' && sha !== '' ? toBytes(sha) : undefined,
      name: toBytes(name) });
  }
  return files;
}
