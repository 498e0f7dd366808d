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
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fsPath, joinBytes } from '../../core/bytes-path.js';

const BLOCK = 512;
const RECORD = 10_240;
/** The size of the chunks the walk hands out (issue 21: large chunks, few round trips). */
const OUT_CHUNK = 1 << 20;

const TYPEFLAG = { file: '0', symlink: '2', directory: '5', fifo: '6', pax: 'x' } as const;

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

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

interface HeaderFields {
  /** The entry's name, a byte string. */
  readonly name: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  readonly type: string;
  /** A symlink's target, a byte string. */
  readonly linkname?: string;
}

/** One ustar header block at `offset` of `target` (512 bytes of room there). */
function writeUstar(target: Buffer, offset: number, fields: HeaderFields): void {
  target.fill(0, offset, offset + BLOCK);
  target.write(fields.name, offset, Math.min(fields.name.length, 100), 'latin1');
  target.write(octal(fields.mode & 0o7777, 8), offset + 100, 'latin1');
  target.write(octal(fields.uid, 8), offset + 108, 'latin1');
  target.write(octal(fields.gid, 8), offset + 116, 'latin1');
  target.write(octal(fields.size, 12), offset + 124, 'latin1');
  target.write(octal(fields.mtime, 12), offset + 136, 'latin1');
  target.write('        ', offset + 148, 'latin1');
  target.write(fields.type, offset + 156, 'latin1');
  if (fields.linkname !== undefined) target.write(fields.linkname, offset + 157, Math.min(fields.linkname.length, 100), 'latin1');
  target.write('ustar\0', offset + 257, 'latin1');
  target.write('00', offset + 263, 'latin1');
  let sum = 0;
  for (let i = offset; i < offset + BLOCK; i += 1) sum += target[i] as number;
  target.write(`${sum.toString(8).padStart(6, '0')}\0 `, offset + 148, 'latin1');
}

function padLength(length: number): number {
  const rest = length % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

const MAX_ID = 0o7777777;
const MAX_SIZE = 0o77777777777;

/** The pax records an entry needs (a field that does not fit ustar), as one byte string; '' when none. */
function paxRecords(fields: HeaderFields, mtimeNs: bigint): string {
  let records = '';
  if (fields.name.length > 100) records += paxRecord('path', fields.name);
  if (fields.linkname !== undefined && fields.linkname.length > 100) records += paxRecord('linkpath', fields.linkname);
  if (fields.uid > MAX_ID) records += paxRecord('uid', String(fields.uid));
  if (fields.gid > MAX_ID) records += paxRecord('gid', String(fields.gid));
  if (fields.size > MAX_SIZE) records += paxRecord('size', String(fields.size));
  const fraction = mtimeNs % 1_000_000_000n;
  if (fraction !== 0n || fields.mtime < 0) {
    const seconds = mtimeNs / 1_000_000_000n - (fraction < 0n ? 1n : 0n);
    const ns = ((fraction % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
    records += paxRecord('mtime', `${seconds}.${ns.toString().padStart(9, '0')}`);
  }
  // No `hdrcharset=BINARY` for a name that is not UTF-8: GNU tar, the reader users have, does not write it and
  // warns "Ignoring unknown extended header keyword" on every such entry; it stores and restores the bytes as they are.
  return records;
}

/** The header block(s) of one entry: a pax extended header first when a field does not fit ustar. */
function writeHeaders(out: ChunkWriter, fields: HeaderFields, mtimeNs: bigint): void {
  const records = paxRecords(fields, mtimeNs);
  if (records !== '') {
    const name = fields.name;
    const base = name.slice(name.lastIndexOf('/', name.length - 2) + 1);
    const paxName = `./PaxHeaders/${base}`.slice(0, 100);
    writeUstar(out.target, out.offset, { name: paxName, mode: 0o644, uid: 0, gid: 0, size: records.length, mtime: 0, type: TYPEFLAG.pax });
    out.advance(BLOCK);
    out.putBytes(records);
    out.zeros(padLength(records.length));
  }
  writeUstar(out.target, out.offset, {
    ...fields,
    uid: Math.min(fields.uid, MAX_ID),
    gid: Math.min(fields.gid, MAX_ID),
    size: Math.min(fields.size, MAX_SIZE),
    mtime: Math.max(0, Math.min(fields.mtime, 0o77777777777)),
  });
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

/** `size` bytes of the file at `path` into the output, exactly (a file that shrank while archived is an error). */
function* fileContent(out: ChunkWriter, path: string, size: number, onBytes: (n: number) => void): Generator<Buffer> {
  const fd = openSync(fsPath(path), 'r');
  try {
    let left = size;
    while (left > 0) {
      const bytesRead = readSync(fd, out.target, out.offset, Math.min(out.room, left), null);
      if (bytesRead === 0) throw new Error(`file shrank while archived: ${path}`);
      left -= bytesRead;
      onBytes(bytesRead);
      out.advance(bytesRead);
      yield* out.take();
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
 * back-pressure still paces it chunk by chunk, so the event loop runs between chunks.
 */
export function* tarEntries(root: string, progress?: TarProgress, pool = new ChunkPool()): Generator<Buffer> {
  const heap = new PathHeap();
  heap.push('.');
  const out = new ChunkWriter(pool);
  let entries = 0;
  let bytes = 0;
  const onBytes = (n: number): void => { bytes += n; };
  while (heap.size > 0) {
    const rel = heap.pop() as string;
    const full = rel === '.' ? root : joinBytes(root, rel.slice(2));
    const stat = lstatSync(fsPath(full), { bigint: true });
    const base = { mode: Number(stat.mode), uid: Number(stat.uid), gid: Number(stat.gid), mtime: Number(stat.mtimeNs / 1_000_000_000n) };
    if (stat.isDirectory()) {
      writeHeaders(out, { ...base, name: `${rel}/`, size: 0, type: TYPEFLAG.directory }, stat.mtimeNs);
      const names = readdirSync(fsPath(full), { encoding: 'buffer' });
      for (const name of names) heap.push(`${rel}/${name.toString('latin1')}`);
    } else if (stat.isSymbolicLink()) {
      const target = readlinkSync(fsPath(full), { encoding: 'buffer' });
      writeHeaders(out, { ...base, name: rel, size: 0, type: TYPEFLAG.symlink, linkname: target.toString('latin1') }, stat.mtimeNs);
    } else if (stat.isFile()) {
      const size = Number(stat.size);
      writeHeaders(out, { ...base, name: rel, size, type: TYPEFLAG.file }, stat.mtimeNs);
      yield* fileContent(out, full, size, onBytes);
      out.zeros(padLength(size));
    } else if (stat.isFIFO()) {
      writeHeaders(out, { ...base, name: rel, size: 0, type: TYPEFLAG.fifo }, stat.mtimeNs);
    } else {
      throw new Error(`cannot archive special file: ${rel}`);
    }
    entries += 1;
    progress?.(entries, bytes);
    yield* out.take();
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
