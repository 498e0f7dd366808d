// The tar stream of the staging tree (archive.md §2): what `tar --format=pax --numeric-owner --hard-dereference
// --no-recursion -T <sorted list>` writes in legacy/lib/archive.sh — `./` first, then every path in byte order,
// directories with a trailing slash, hard links stored as files, numeric owners, no atime/ctime.
//
// Written here rather than with the `tar` package: node-tar (and tar-stream) take entry names as JS strings
// and encode them as UTF-8, so a file name that is not valid UTF-8 (the hostile fixture has one) cannot be
// stored as the bytes it has on disk. Names here are byte strings end to end (see bytes-path.ts).
//
// Memory: the tree is walked in byte order with a heap of the paths discovered but not yet written (the
// walk's frontier), never the whole list; file contents stream through in 1 MiB reads.
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { fsPath, joinBytes } from '../../core/bytes-path.js';

const BLOCK = 512;
const RECORD = 10_240;
const CHUNK = 1 << 18;

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

/** `LEN key=value\n` with LEN counting the whole record, value as bytes. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'latin1'), value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length > length) length += 1;
  return Buffer.concat([Buffer.from(String(length), 'latin1'), body]);
}

function isUtf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

interface HeaderFields {
  readonly name: Buffer;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  readonly type: string;
  readonly linkname?: Buffer;
}

function ustarHeader(fields: HeaderFields): Buffer {
  const header = Buffer.alloc(BLOCK);
  fields.name.copy(header, 0, 0, Math.min(fields.name.length, 100));
  header.write(octal(fields.mode & 0o7777, 8), 100, 'latin1');
  header.write(octal(fields.uid, 8), 108, 'latin1');
  header.write(octal(fields.gid, 8), 116, 'latin1');
  header.write(octal(fields.size, 12), 124, 'latin1');
  header.write(octal(fields.mtime, 12), 136, 'latin1');
  header.write('        ', 148, 'latin1');
  header.write(fields.type, 156, 'latin1');
  fields.linkname?.copy(header, 157, 0, Math.min(fields.linkname.length, 100));
  header.write('ustar\0', 257, 'latin1');
  header.write('00', 263, 'latin1');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return header;
}

function padding(length: number): Buffer {
  const rest = length % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

const MAX_ID = 0o7777777;
const MAX_SIZE = 0o77777777777;

/** The header block(s) of one entry: a pax extended header first when a field does not fit ustar. */
export function entryHeaders(fields: HeaderFields, mtimeNs: bigint): Buffer[] {
  const records: Buffer[] = [];
  if (fields.name.length > 100) records.push(paxRecord('path', fields.name));
  if (fields.linkname !== undefined && fields.linkname.length > 100) records.push(paxRecord('linkpath', fields.linkname));
  if (fields.uid > MAX_ID) records.push(paxRecord('uid', Buffer.from(String(fields.uid))));
  if (fields.gid > MAX_ID) records.push(paxRecord('gid', Buffer.from(String(fields.gid))));
  if (fields.size > MAX_SIZE) records.push(paxRecord('size', Buffer.from(String(fields.size))));
  const fraction = mtimeNs % 1_000_000_000n;
  if (fraction !== 0n || fields.mtime < 0) {
    const seconds = mtimeNs / 1_000_000_000n - (fraction < 0n ? 1n : 0n);
    const ns = ((fraction % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
    records.push(paxRecord('mtime', Buffer.from(`${seconds}.${ns.toString().padStart(9, '0')}`)));
  }
  const binary = !isUtf8(fields.name) || (fields.linkname !== undefined && !isUtf8(fields.linkname));
  if (records.length > 0 && binary) records.unshift(paxRecord('hdrcharset', Buffer.from('BINARY')));
  const blocks: Buffer[] = [];
  if (records.length > 0) {
    const body = Buffer.concat(records);
    const base = fields.name.subarray(fields.name.lastIndexOf(0x2f, fields.name.length - 2) + 1);
    const paxName = Buffer.concat([Buffer.from('./PaxHeaders/'), base]).subarray(0, 100);
    blocks.push(ustarHeader({ name: paxName, mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 0, type: TYPEFLAG.pax }), body,
      padding(body.length));
  }
  blocks.push(ustarHeader({
    ...fields,
    uid: Math.min(fields.uid, MAX_ID),
    gid: Math.min(fields.gid, MAX_ID),
    size: Math.min(fields.size, MAX_SIZE),
    mtime: Math.max(0, Math.min(fields.mtime, 0o77777777777)),
  }));
  return blocks;
}

export interface TarProgress {
  /** Called after each entry with the entries and content bytes written so far. */
  (entries: number, bytes: number): void;
}

async function* fileContent(path: string, size: number, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  const handle = await open(fsPath(path), 'r');
  try {
    let left = size;
    while (left > 0) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, left));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) throw new Error(`file shrank while archived: ${path}`);
      left -= bytesRead;
      onBytes(bytesRead);
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/**
 * The tar stream of `root` (a byte-string path): `./` and every path below it in byte order.
 * Each entry's name is `./relative` (a directory's with a trailing `/`).
 */
export async function* tarEntries(root: string, progress?: TarProgress): AsyncGenerator<Buffer> {
  const heap = new PathHeap();
  heap.push('.');
  let entries = 0;
  let bytes = 0;
  let written = 0;
  const emit = function* (chunks: Buffer[]): Generator<Buffer> {
    for (const chunk of chunks) {
      written += chunk.length;
      yield chunk;
    }
  };
  while (heap.size > 0) {
    const rel = heap.pop() as string;
    const full = rel === '.' ? root : joinBytes(root, rel.slice(2));
    const stat = await lstat(fsPath(full), { bigint: true });
    const base = { mode: Number(stat.mode), uid: Number(stat.uid), gid: Number(stat.gid), mtime: Number(stat.mtimeNs / 1_000_000_000n) };
    if (stat.isDirectory()) {
      yield* emit(entryHeaders({ ...base, name: Buffer.from(`${rel}/`, 'latin1'), size: 0, type: TYPEFLAG.directory }, stat.mtimeNs));
      const names = await readdir(fsPath(full), { encoding: 'buffer' });
      for (const name of names) heap.push(`${rel}/${name.toString('latin1')}`);
    } else if (stat.isSymbolicLink()) {
      const target = await readlink(fsPath(full), { encoding: 'buffer' });
      yield* emit(entryHeaders({ ...base, name: Buffer.from(rel, 'latin1'), size: 0, type: TYPEFLAG.symlink, linkname: target }, stat.mtimeNs));
    } else if (stat.isFile()) {
      const size = Number(stat.size);
      yield* emit(entryHeaders({ ...base, name: Buffer.from(rel, 'latin1'), size, type: TYPEFLAG.file }, stat.mtimeNs));
      for await (const chunk of fileContent(full, size, (n) => { bytes += n; })) yield* emit([chunk]);
      yield* emit([padding(size)]);
    } else if (stat.isFIFO()) {
      yield* emit(entryHeaders({ ...base, name: Buffer.from(rel, 'latin1'), size: 0, type: TYPEFLAG.fifo }, stat.mtimeNs));
    } else {
      throw new Error(`cannot archive special file: ${rel}`);
    }
    entries += 1;
    progress?.(entries, bytes);
  }
  const end = BLOCK * 2;
  const total = written + end;
  yield Buffer.alloc(end + (total % RECORD === 0 ? 0 : RECORD - (total % RECORD)));
}

export function tarStream(root: string, progress?: TarProgress): Readable {
  return Readable.from(tarEntries(root, progress), { objectMode: false, highWaterMark: CHUNK });
}
