// The tar reader of restore.md §4.3 (the twin of legacy/lib/restore.pl's next_entry, static_reason and
// listing): ustar, pax (x, g) and GNU long names (L, K), numbers octal or base-256; every header and data block
// read once, content discarded unless a caller keeps it; a pax header or long name over 1 MiB, a bad number, a
// bad checksum or a short read stops it with the same reason. Names are byte strings (latin1 JS strings).

export const MAX_ENTRIES = 1_000_000;
const MAX_PAX = 1024 * 1024;

export class CorruptArchive extends Error {}

const corrupt = (reason: string): never => {
  throw new CorruptArchive(reason);
};

/** Pulls exact byte counts from a stream of chunks. */
export class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  private readonly iterator: AsyncIterator<Buffer | string>;

  constructor(source: AsyncIterable<Buffer | string>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<void> {
    while (this.buffered < n && !this.done) {
      const next = await this.iterator.next();
      if (next.done === true) {
        this.done = true;
        break;
      }
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value, 'latin1') : next.value;
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
  }

  /** Up to N bytes (fewer only at the end of the stream). */
  async read(n: number): Promise<Buffer> {
    await this.fill(n);
    const all = this.chunks.length === 1 ? this.chunks[0] ?? Buffer.alloc(0) : Buffer.concat(this.chunks);
    const out = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(out.length);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  /** Reads N bytes in slices of at most 1 MiB, handing each to SINK; the count actually read. */
  async copy(n: number, sink?: (chunk: Buffer) => void): Promise<number> {
    let got = 0;
    while (got < n) {
      const chunk = await this.read(Math.min(n - got, 1_048_576));
      if (chunk.length === 0) break;
      sink?.(chunk);
      got += chunk.length;
    }
    return got;
  }

  /** Reads and discards everything left. */
  async drain(): Promise<void> {
    this.chunks = [];
    this.buffered = 0;
    while (!this.done) {
      const next = await this.iterator.next();
      if (next.done === true) this.done = true;
    }
  }
}

/** restore.pl number(): octal (NULs and blanks trimmed) or base-256 when the high bit of the first byte is set. */
function headerNumber(field: Buffer): number {
  if (field.length > 0 && ((field[0] ?? 0) & 0x80) !== 0) {
    let v = 0;
    for (const byte of field.subarray(1)) v = v * 256 + byte;
    return v;
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) corrupt('bad number in a header');
  return parseInt(text, 8);
}

const cString = (field: Buffer): string => {
  const text = field.toString('latin1');
  const nul = text.indexOf('\0');
  return nul < 0 ? text : text.slice(0, nul);
};

const padded = (size: number): number => size + ((512 - (size % 512)) % 512);

/** pax_records: `<len> <key>=<value>\n` records; the last of a key wins. */
function paxRecords(data: string): Map<string, string> {
  const records = new Map<string, string>();
  let rest = data;
  while (rest.length > 0) {
    const m = /^(\d+) /.exec(rest);
    if (m === null) return corrupt('bad pax header');
    const head = (m[1] ?? '').length + 1;
    const len = Number(m[1]);
    if (len < head + 2 || len > rest.length) corrupt('bad pax header');
    const record = rest.slice(head, len - 1);
    const kv = /^([^=]*)=(.*)$/s.exec(record);
    if (rest[len - 1] !== '\n' || kv === null) return corrupt('bad pax header');
    records.set(kv[1] ?? '', kv[2] ?? '');
    rest = rest.slice(len);
  }
  return records;
}

export interface TarEntry {
  name: string;
  link: string;
  /** The type flag: '0' for a NUL flag; restore.pl's readers turn '7' into '0' after reading. */
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  /** The bytes of data that follow the header (0 for links, devices, directories, FIFOs). */
  data: number;
}

/** Perl's `$` also matches before a final newline. */
const DIGITS = /^\d+\n?$/;

/** next_entry: the next entry's header (its data not read), or undefined at the end of the archive. */
export async function nextEntry(reader: ByteReader): Promise<TarEntry | undefined> {
  const pending = new Map<string, string>();
  for (;;) {
    const block = await reader.read(512);
    if (block.length === 0) return undefined;
    if (block.length < 512) corrupt('unexpected end of archive');
    if (block.every((b) => b === 0)) {
      await reader.drain();
      return undefined;
    }
    const field = (offset: number, length: number): Buffer => block.subarray(offset, offset + length);
    let check = 0;
    for (let i = 0; i < 512; i += 1) check += i >= 148 && i < 156 ? 32 : block[i] ?? 0;
    if (headerNumber(field(148, 8)) !== check) corrupt('bad header checksum');
    let name = cString(field(0, 100));
    const link = cString(field(157, 100));
    const prefix = cString(field(345, 155));
    if (field(257, 6).toString('latin1').startsWith('ustar') && prefix !== '') name = `${prefix}/${name}`;
    let type = field(156, 1).toString('latin1');
    if (type === '\0') type = '0';
    const entry: TarEntry = { name, link, type, mode: headerNumber(field(100, 8)) & 0o7777, uid: headerNumber(field(108, 8)),
      gid: headerNumber(field(116, 8)), size: headerNumber(field(124, 12)), mtime: headerNumber(field(136, 12)), data: 0 };
    if (type === 'x' || type === 'g') {
      if (entry.size > MAX_PAX) corrupt('pax header over 1 MiB');
      const records = paxRecords(await readData(reader, entry.size));
      if (type === 'x') for (const [k, v] of records) pending.set(k, v);
      continue;
    }
    if (type === 'L' || type === 'K') {
      if (entry.size > MAX_PAX) corrupt('long name over 1 MiB');
      pending.set(type === 'L' ? 'path' : 'linkpath', cString(Buffer.from(await readData(reader, entry.size), 'latin1')));
      continue;
    }
    const path = pending.get('path');
    if (path !== undefined) entry.name = path;
    const linkpath = pending.get('linkpath');
    if (linkpath !== undefined) entry.link = linkpath;
    for (const key of ['uid', 'gid', 'size'] as const) {
      const value = pending.get(key);
      if (value !== undefined && DIGITS.test(value)) entry[key] = parseInt(value, 10);
    }
    const mtime = pending.get('mtime');
    if (mtime !== undefined && /^-?\d+(?:\.\d+)?\n?$/.test(mtime)) entry.mtime = Math.trunc(parseFloat(mtime));
    entry.data = /^[123456]$/.test(type) ? 0 : entry.size;
    return entry;
  }
}

/** read_data: an entry's data (whole 512-byte blocks read), as a byte string. */
async function readData(reader: ByteReader, size: number): Promise<string> {
  const chunks: Buffer[] = [];
  const got = await reader.copy(padded(size), (chunk) => chunks.push(chunk));
  if (got < padded(size)) corrupt('unexpected end of archive');
  return Buffer.concat(chunks).subarray(0, size).toString('latin1');
}

/** copy_data: an entry's data streamed to SINK (only its SIZE useful bytes), the padding read and dropped. */
export async function copyData(reader: ByteReader, size: number, sink?: (chunk: Buffer) => void): Promise<void> {
  let useful = size;
  const got = await reader.copy(padded(size), sink === undefined ? undefined : (chunk) => {
    if (useful > 0) sink(useful < chunk.length ? chunk.subarray(0, useful) : chunk);
    useful = Math.max(0, useful - chunk.length);
  });
  if (got < padded(size)) corrupt('unexpected end of archive');
}

/** normalise (restore.md §5.1): no leading ./, no /./, no //, no trailing /; `.` is ''. */
export function normaliseName(name: string): string {
  let n = name.replace(/^(?:\.\/+)+/, '');   // "./" and the slashes after it: ".//etc/passwd" is etc/passwd
  while (n.includes('/./')) n = n.replace('/./', '/');
  n = n.replace(/\/\/+/g, '/');
  if (n !== '/') n = n.replace(/\/+$/, '');
  return n === '.' ? '' : n;
}

/** Perl's split m{/}: trailing empty fields dropped, nothing for ''. */
function components(path: string): string[] {
  const parts = path.split('/');
  while (parts.length > 0 && parts.at(-1) === '') parts.pop();
  return parts;
}

/**
 * static_reason (restore.md §8): why an entry is unsafe from the entry table alone, or '' when it is safe.
 * SYMLINKS and REGULAR hold the normalised names of the earlier symlink and regular-file entries.
 */
export function staticReason(entry: { name: string; type: string; link: string }, norm: string,
  symlinks: ReadonlySet<string>, regular: ReadonlySet<string>): string {
  const { name, type, link } = entry;
  if (name.startsWith('/')) return 'absolute path';
  if (components(name).includes('..')) return 'parent directory reference';
  if (type === '1' && components(link).includes('..')) return 'parent directory reference';
  const parts = components(norm);
  for (let i = 1; i < parts.length; i += 1) {
    if (symlinks.has(parts.slice(0, i).join('/'))) return 'path goes through a symlink from the archive';
  }
  if (/^[346]$/.test(type)) return 'special file';
  if (!/^[01257]$/.test(type)) return `unsupported entry type ${type}`;
  if (type === '1' && !regular.has(normaliseName(link))) return 'hard link outside the archive';
  if (name.length > 4096 || components(name).some((part) => part.length > 255)) return 'name too long';
  return '';
}

export interface Listing {
  entries: number;
  files: number;
  symlinks: number;
  hardLinks: number;
  directories: number;
  fileBytes: number;
  /** files + symlinks + hard links whose name does not end in `.sha256` (the metadata's FILES_INCLUDED). */
  filesIncluded: number;
  /** Unsafe entries in archive order: the raw name (byte string) and the reason. */
  unsafe: { name: string; reason: string }[];
}

/**
 * restore.pl listing (restore.md §10 steps 3-4): the whole stream read once. KEEP names the regular-file
 * entries whose content goes to ONDATA (verify's in-archive metadata file). Throws CorruptArchive.
 */
export async function readListing(reader: ByteReader, keep?: (entry: TarEntry) => boolean,
  onData?: (chunk: Buffer) => void): Promise<Listing> {
  const listing: Listing = { entries: 0, files: 0, symlinks: 0, hardLinks: 0, directories: 0, fileBytes: 0, filesIncluded: 0, unsafe: [] };
  const symlinks = new Set<string>();
  const regular = new Set<string>();
  for (let entry = await nextEntry(reader); entry !== undefined; entry = await nextEntry(reader)) {
    if (listing.entries >= MAX_ENTRIES) corrupt('more than 1000000 entries');
    if (entry.type === '7') entry.type = '0';
    const kept = entry.type === '0' && keep?.(entry) === true;
    await copyData(reader, entry.data, kept ? onData : undefined);
    listing.entries += 1;
    const norm = normaliseName(entry.name);
    const reason = staticReason(entry, norm, symlinks, regular);
    if (reason !== '') listing.unsafe.push({ name: entry.name, reason });
    const counted = !/\.sha256\n?$/.test(norm);
    if (entry.type === '0') {
      listing.files += 1;
      listing.fileBytes += entry.size;
      regular.add(norm);
      if (counted) listing.filesIncluded += 1;
    } else if (entry.type === '2') {
      listing.symlinks += 1;
      symlinks.add(norm);
      if (counted) listing.filesIncluded += 1;
    } else if (entry.type === '1') {
      listing.hardLinks += 1;
      if (counted) listing.filesIncluded += 1;
    } else if (entry.type === '5') {
      listing.directories += 1;
    }
  }
  return listing;
}
