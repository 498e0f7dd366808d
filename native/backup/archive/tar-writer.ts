// The tar stream of the staging tree (archive.md §2): what `tar --format=pax --numeric-owner --hard-dereference
// --no-recursion -T <sorted list>` writes in legacy/lib/archive.sh — `./` first, then every path in byte order,
// directories with a trailing slash, hard links stored as files, numeric owners, no atime/ctime.
//
// Written here rather than with the `tar` package: node-tar (and tar-stream) take entry names as JS strings
// and encode them as UTF-8, so a file name that is not valid UTF-8 (the hostile fixture has one) cannot be
// stored as the bytes it has on disk. Names here are byte strings end to end (see bytes-path.ts).
//
// Memory: the tree is walked in byte order with a heap of the paths discovered but not yet written (the
// walk's frontier), never the whole list; file contents are read straight into the 1 MiB output chunks.
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type BigIntStats } from 'node:fs';
import { Readable } from 'node:stream';
import { fsPath, joinBytes } from '../../core/bytes-path.js';

const BLOCK = 512;
const RECORD = 10_240;
/** The size of the chunks the walk hands out (issue 21: large chunks, few round trips). */
const OUT_CHUNK = 1 << 20;

/** Type flags as the byte each header holds ('0', '2', '5', '6', 'x'). */
const TYPEFLAG = { file: 0x30, symlink: 0x32, directory: 0x35, fifo: 0x36, pax: 0x78 } as const;

/** A binary min-heap of byte strings (latin1 strings compare in byte order). */
class PathHeap {
  private readonly items: string[] = [];

  get size(): number { return this.items.length; }

  push(item: string): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as string) <= item) break;
      items[i] = items[parent] as string;
      i = parent;
    }
    items[i] = item;
  }

  pop(): string | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && (items[right] as string) < (items[left] as string) ? right : left;
      if ((items[child] as string) >= last) break;
      items[i] = items[child] as string;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

/** `LEN key=value\n` with LEN counting the whole record; key and value are byte strings. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (String(length).length + body.length > length) length += 1;
  return `${length}${body}`;
}

/**
 * A ustar header with what every entry has in common: zeros, the magic `ustar\0`, version `00`. Copied in, then
 * the entry's fields are written over it; CHECKSUM_BASE is the sum of its bytes with the checksum field as spaces.
 */
const TEMPLATE = Buffer.alloc(BLOCK);
TEMPLATE.write('ustar\0', 257, 'latin1');
TEMPLATE.write('00', 263, 'latin1');
const CHECKSUM_BASE = [...TEMPLATE].reduce((sum, byte) => sum + byte, 0) + 8 * 0x20;

/**
 * VALUE as WIDTH - 1 octal digits and a NUL at `at` (the value fits: the caller clamps it), returning the sum of
 * the bytes written. Digits by arithmetic, not toString(8): sizes and times go past 2^31.
 */
function putOctal(target: Buffer, at: number, value: number, width: number): number {
  let rest = value;
  let sum = 0;
  for (let i = at + width - 2; i >= at; i -= 1) {
    const digit = 0x30 + (rest % 8);
    target[i] = digit;
    sum += digit;
    rest = Math.floor(rest / 8);
  }
  target[at + width - 1] = 0;
  return sum;
}

/** The first `length` chars of a byte string at `at`, returning the sum of the bytes written. */
function putName(target: Buffer, at: number, bytes: string, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i += 1) {
    const byte = bytes.charCodeAt(i);
    target[at + i] = byte;
    sum += byte;
  }
  return sum;
}

/**
 * One ustar header block at `offset` of `target` (512 bytes of room there). `name` and `linkname` are byte
 * strings (only their first 100 bytes here); numbers already clamped to what their fields hold.
 */
function writeUstar(target: Buffer, offset: number, name: string, mode: number, uid: number, gid: number, size: number, mtime: number,
  type: number, linkname: string | undefined): void {
  target.set(TEMPLATE, offset);
  let sum = CHECKSUM_BASE + type;
  sum += putName(target, offset, name, Math.min(name.length, 100));
  sum += putOctal(target, offset + 100, mode & 0o7777, 8);
  sum += putOctal(target, offset + 108, uid, 8);
  sum += putOctal(target, offset + 116, gid, 8);
  sum += putOctal(target, offset + 124, size, 12);
  sum += putOctal(target, offset + 136, mtime, 12);
  target[offset + 156] = type;
  if (linkname !== undefined) sum += putName(target, offset + 157, linkname, Math.min(linkname.length, 100));
  // The checksum: six octal digits, NUL, space.
  putOctal(target, offset + 148, sum, 7);
  target[offset + 155] = 0x20;
}

function padLength(length: number): number {
  const rest = length % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

const MAX_ID = 0o7777777;
const MAX_SIZE = 0o77777777777;
const NS = 1_000_000_000n;

/** The pax records an entry needs (a field that does not fit ustar), as one byte string; '' when none. */
function paxRecords(name: string, linkname: string | undefined, uid: number, gid: number, size: number, mtime: number, mtimeNs: bigint): string {
  let records = '';
  if (name.length > 100) records += paxRecord('path', name);
  if (linkname !== undefined && linkname.length > 100) records += paxRecord('linkpath', linkname);
  if (uid > MAX_ID) records += paxRecord('uid', String(uid));
  if (gid > MAX_ID) records += paxRecord('gid', String(gid));
  if (size > MAX_SIZE) records += paxRecord('size', String(size));
  const fraction = mtimeNs % NS;
  if (fraction !== 0n || mtime < 0) {
    const seconds = mtimeNs / NS - (fraction < 0n ? 1n : 0n);
    const ns = ((fraction % NS) + NS) % NS;
    records += paxRecord('mtime', `${seconds}.${ns.toString().padStart(9, '0')}`);
  }
  // No `hdrcharset=BINARY` for a name that is not UTF-8: GNU tar, the reader users have, does not write it and
  // warns "Ignoring unknown extended header keyword" on every such entry; it stores and restores the bytes as they are.
  return records;
}

/** The header block(s) of one entry: a pax extended header first when a field does not fit ustar. */
function writeHeaders(out: ChunkWriter, name: string, stat: BigIntStats, size: number, type: number, linkname?: string): void {
  const uid = Number(stat.uid);
  const gid = Number(stat.gid);
  const mtimeNs = stat.mtimeNs;
  const mtime = Number(mtimeNs / NS);
  const records = paxRecords(name, linkname, uid, gid, size, mtime, mtimeNs);
  if (records !== '') {
    const base = name.slice(name.lastIndexOf('/', name.length - 2) + 1);
    const paxName = `./PaxHeaders/${base}`.slice(0, 100);
    writeUstar(out.target, out.offset, paxName, 0o644, 0, 0, records.length, 0, TYPEFLAG.pax, undefined);
    out.advance(BLOCK);
    out.putBytes(records);
    out.zeros(padLength(records.length));
  }
  writeUstar(out.target, out.offset, name, Number(stat.mode), Math.min(uid, MAX_ID), Math.min(gid, MAX_ID), Math.min(size, MAX_SIZE),
    Math.max(0, Math.min(mtime, 0o77777777777)), type, linkname);
  out.advance(BLOCK);
}

export interface TarProgress {
  /** Called after each entry with the entries and content bytes written so far. */
  (entries: number, bytes: number): void;
}

/**
 * Spare output chunks: a consumer that is done with a chunk (a compressor that copied it) gives it back, so the
 * walk refills it instead of allocating another. Without it each chunk is garbage the moment it is consumed,
 * and V8 lets up to 64 MiB of such external memory pile up before it collects.
 */
export class ChunkPool {
  private readonly spare: Buffer[] = [];

  constructor(private readonly keep = 4) {}

  take(): Buffer {
    return this.spare.pop() ?? Buffer.allocUnsafe(OUT_CHUNK);
  }

  /** A chunk the consumer will not read again (only whole chunks of this size are kept). */
  give(chunk: Buffer): void {
    if (chunk.length === OUT_CHUNK && chunk.byteOffset === 0 && chunk.buffer.byteLength === OUT_CHUNK && this.spare.length < this.keep
      && !this.spare.includes(chunk)) this.spare.push(chunk);
  }
}

/**
 * The output of the walk: 1 MiB chunks filled in place (headers copied in, file contents read straight into
 * them), handed out whole. A chunk handed out is never written again.
 */
class ChunkWriter {
  private buffer: Buffer;

  constructor(private readonly pool: ChunkPool) {
    this.buffer = pool.take();
  }

  private position = 0;
  private readonly full: Buffer[] = [];
  /** Bytes written so far. */
  total = 0;

  /** Room left in the current chunk: where to read into, at most how much. */
  get target(): Buffer { return this.buffer; }
  get offset(): number { return this.position; }
  get room(): number { return this.buffer.length - this.position; }

  /** `length` bytes were written at `offset` of `target`. */
  advance(length: number): void {
    this.position += length;
    this.total += length;
    if (this.position === this.buffer.length) {
      this.full.push(this.buffer);
      this.buffer = this.pool.take();
      this.position = 0;
    }
  }

  /** A byte string (latin1: one char per byte), split across chunks as needed. */
  putBytes(bytes: string): void {
    let from = 0;
    while (from < bytes.length) {
      const n = Math.min(this.room, bytes.length - from);
      this.buffer.write(from === 0 && n === bytes.length ? bytes : bytes.slice(from, from + n), this.position, n, 'latin1');
      from += n;
      this.advance(n);
    }
  }

  zeros(length: number): void {
    let left = length;
    while (left > 0) {
      const n = Math.min(left, this.room);
      this.buffer.fill(0, this.position, this.position + n);
      left -= n;
      this.advance(n);
    }
  }

  /** Whether a chunk filled since the last take(). */
  get filled(): boolean { return this.full.length > 0; }

  /** The chunks filled since the last call. */
  take(): Buffer[] {
    return this.full.splice(0, this.full.length);
  }

  /** Everything left, the last chunk cut to its length. */
  finish(): Buffer[] {
    const rest = this.take();
    if (this.position > 0) rest.push(this.buffer.subarray(0, this.position));
    this.position = 0;
    return rest;
  }
}

/**
 * `size` bytes of the file at `path` into the output, exactly (a file that shrank while archived is an error),
 * each chunk handed out as soon as it is full (memory stays at a few chunks whatever the file's size).
 */
function* fileContent(out: ChunkWriter, path: string, pathBuffer: Buffer, size: number): Generator<Buffer> {
  const fd = openSync(pathBuffer, 'r');
  try {
    let left = size;
    while (left > 0) {
      const bytesRead = readSync(fd, out.target, out.offset, Math.min(out.room, left), null);
      if (bytesRead === 0) throw new Error(`file shrank while archived: ${path}`);
      left -= bytesRead;
      out.advance(bytesRead);
      if (out.filled) yield* out.take();
    }
  } finally {
    closeSync(fd);
  }
}

/** What fileContent does for a file that fits in the room left (most files): no generator, no chunk to hand out. */
function smallFileContent(out: ChunkWriter, path: string, pathBuffer: Buffer, size: number): void {
  const fd = openSync(pathBuffer, 'r');
  try {
    let left = size;
    while (left > 0) {
      const bytesRead = readSync(fd, out.target, out.offset, left, null);
      if (bytesRead === 0) throw new Error(`file shrank while archived: ${path}`);
      left -= bytesRead;
      out.advance(bytesRead);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The tar stream of `root` (a byte-string path): `./` and every path below it in byte order, in chunks of
 * OUT_CHUNK bytes (the last one shorter). Each entry's name is `./relative` (a directory's with a trailing `/`).
 *
 * The walk is synchronous between two chunks: one chunk holds hundreds of small files, and a thread-pool round
 * trip per lstat/open/read/close cost several times the whole archive phase (issue 21). The consumer's
 * back-pressure still paces it chunk by chunk, so the event loop runs between chunks. Per entry it allocates
 * as little as it can (no field objects, no generator per file, no array when no chunk filled): at 80 000
 * entries that per-entry cost was most of what the writer added to the system calls.
 */
export function* tarEntries(root: string, progress?: TarProgress, pool = new ChunkPool()): Generator<Buffer> {
  const heap = new PathHeap();
  heap.push('.');
  const out = new ChunkWriter(pool);
  let entries = 0;
  let bytes = 0;
  while (heap.size > 0) {
    const rel = heap.pop() as string;
    const full = rel === '.' ? root : joinBytes(root, rel.slice(2));
    const pathBuffer = fsPath(full);
    const stat = lstatSync(pathBuffer, { bigint: true });
    if (stat.isFile()) {
      const size = Number(stat.size);
      writeHeaders(out, rel, stat, size, TYPEFLAG.file);
      // size < room: the file cannot fill the chunk, so no chunk is handed out in the middle of it.
      if (size < out.room) smallFileContent(out, full, pathBuffer, size);
      else yield* fileContent(out, full, pathBuffer, size);
      bytes += size;
      out.zeros(padLength(size));
    } else if (stat.isDirectory()) {
      writeHeaders(out, `${rel}/`, stat, 0, TYPEFLAG.directory);
      const names = readdirSync(pathBuffer, { encoding: 'buffer' });
      for (const name of names) heap.push(`${rel}/${name.toString('latin1')}`);
    } else if (stat.isSymbolicLink()) {
      const target = readlinkSync(pathBuffer, { encoding: 'buffer' });
      writeHeaders(out, rel, stat, 0, TYPEFLAG.symlink, target.toString('latin1'));
    } else if (stat.isFIFO()) {
      writeHeaders(out, rel, stat, 0, TYPEFLAG.fifo);
    } else {
      throw new Error(`cannot archive special file: ${rel}`);
    }
    entries += 1;
    if (progress !== undefined) progress(entries, bytes);
    if (out.filled) yield* out.take();
  }
  const end = BLOCK * 2;
  const total = out.total + end;
  out.zeros(end + (total % RECORD === 0 ? 0 : RECORD - (total % RECORD)));
  yield* out.finish();
}

/** The tar stream as a Readable; a consumer that copies each chunk may give it back to `pool`. */
export function tarStream(root: string, progress?: TarProgress, pool?: ChunkPool): Readable {
  return Readable.from(tarEntries(root, progress, pool), { objectMode: false, highWaterMark: OUT_CHUNK });
}
