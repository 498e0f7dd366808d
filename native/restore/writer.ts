// The writing pass of restore.md §6 (the twin of legacy/lib/restore.pl's cmd_write): the stream read again and
// the plan carried out at the edge — every file and link through a temp sibling and a rename (a temp name that
// fits 255 bytes even for an entry whose own name is close to it), owners as root, modes with setuid/setgid
// cleared, mtimes, fsync; upstream chunked files rejoined and dedup links resolved after the pass; stale SQLite
// files removed; directories' metadata last, deepest first. Log records and counts as restore.pl prints them;
// ENOSPC/EDQUOT/EROFS/EIO abort (directories still finished), other errors are the entry's WARNING.
import {
  chmodSync, chownSync, closeSync, constants, fchmodSync, fchownSync, fsyncSync, lchownSync, lstatSync, lutimesSync, mkdirSync,
  openSync, readSync, renameSync, statSync, symlinkSync, unlinkSync, utimesSync, writeSync,
} from 'node:fs';
import { escPath, fsPath } from '../core/bytes-path.js';
import { humanSize } from '../core/human.js';
import { strerror } from '../core/coreutils.js';
import type { Action, LogRecord, Plan, PveMode, ScanEntry } from './plan.js';
import { targetOf } from './plan.js';
import { ByteReader, copyData, CorruptArchive, nextEntry } from './tar-reader.js';

/** An error of a system call as restore.pl's `$!` shows it (glibc strerror), or a reason of its own. */
class Failure {
  constructor(readonly code: string | undefined, readonly text: string) {}
}

const failureOf = (error: unknown): Failure => {
  const code = (error as NodeJS.ErrnoException).code;
  return new Failure(code, strerror(code));
};

const ABORT_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO']);

export interface WriteSettings {
  readonly root: string;
  readonly asRoot: boolean;
  readonly pveMode: PveMode;
  readonly log: (record: LogRecord) => void;
  /** Set by SIGINT/SIGTERM: checked between entries. */
  readonly interrupted: () => boolean;
  /** Progress on a terminal (restore.md §9) and the clock it is throttled by (seconds), or undefined. */
  readonly progress?: { readonly stream: NodeJS.WriteStream; readonly now: () => number };
}

export type WriteStop =
  | { readonly kind: 'abort'; readonly reason: string; readonly path: string }
  | { readonly kind: 'changed' }
  | { readonly kind: 'interrupted' };

/** restore.pl's RESULT record and how the pass ended (a corrupt stream is thrown as CorruptArchive). */
export interface WriteResult {
  files: number;
  links: number;
  dirs: number;
  failed: number;
  stop?: WriteStop;
}

class Stop extends Error {
  constructor(readonly stop: WriteStop) {
    super(stop.kind);
  }
}

/** File::Basename dirname of an absolute path. */
function dirname(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

const isDir = (path: string): boolean => {
  try {
    return statSync(fsPath(path)).isDirectory();
  } catch {
    return false;
  }
};

const isLink = (path: string): boolean => {
  try {
    return lstatSync(fsPath(path)).isSymbolicLink();
  } catch {
    return false;
  }
};

const depth = (rel: string): number => rel.split('/').length - 1;

function removeQuietly(path: string): void {
  try {
    unlinkSync(fsPath(path));
  } catch { /* gone already */ }
}

/**
 * The writing pass over READER (the stream again) for TABLE and PLAN, counting into RESULT (kept when it throws
 * CorruptArchive). A stop (abort, changed, interrupted) drains the rest of the stream so no stage stays blocked.
 */
export async function writeRestore(reader: ByteReader, table: readonly ScanEntry[], plan: Plan, settings: WriteSettings,
  result: WriteResult = { files: 0, links: 0, dirs: 0, failed: 0 }): Promise<WriteResult> {
  const { root, asRoot, pveMode } = settings;
  const temps = new Set<string>();
  const dirsMeta = new Map<string, ScanEntry>();
  const created = new Set<string>();
  const dedupCache = new Map<number, Buffer[]>();
  const chunkTarget = new Map<number, { marker: number; offset: number }>();
  const chunkFiles = new Map<number, { fd: number; tmp: string; err?: Failure } | Failure>();
  const deferred: number[] = [];
  let tempSeq = 0;
  const log = (level: LogRecord['level'], message: string): void => {
    progressClear();
    settings.log({ level, message });
  };

  // progress (restore.md §9): only on a terminal, at most once a second, cleared before each log line
  let pDone = 0;
  let pBytes = 0;
  let pAll = 0;
  let pLast = 0;
  let pShown = false;
  const pTotal = plan.actions.size;
  for (const i of plan.actions.keys()) pAll += table[i]?.size ?? 0;
  function progress(): void {
    if (settings.progress === undefined) return;
    const now = Math.floor(settings.progress.now());
    if (now === pLast && pDone !== pTotal) return;
    pLast = now;
    settings.progress.stream.write(`\r\x1b[KRestoring ${pDone}/${pTotal} entries, ${humanSize(pBytes)} of ${humanSize(pAll)}`);
    pShown = true;
  }
  function progressClear(): void {
    if (pShown) settings.progress?.stream.write('\r\x1b[K');
    pShown = false;
  }

  const inPmxcfs = (norm: string): boolean => pveMode === 'pmxcfs' && /^etc\/pve(?:\/|\n?$)/.test(norm);

  /** abort_or_warn: ENOSPC, EDQUOT, EROFS, EIO stop the pass; anything else is the entry's WARNING. */
  function abortOrWarn(err: Failure, path: string): void {
    if (err.code !== undefined && ABORT_CODES.has(err.code)) throw new Stop({ kind: 'abort', reason: err.text, path: escPath(path) });
    log('WARNING', `Failed to restore ${escPath(path)}: ${err.text}`);
  }

  /** temp_of: `.<name>.pbk-restore.<pid>`, or `.pbk-restore.<pid>.<n>` when that passes 255 bytes. */
  function tempOf(target: string, suffix = ''): string {
    const base = target.slice(target.lastIndexOf('/') + 1);
    let name = `.${base}.pbk-restore.${process.pid}${suffix}`;
    if (name.length > 255) {
      tempSeq += 1;
      name = `.pbk-restore.${process.pid}.${tempSeq}${suffix}`;
    }
    return `${dirname(target)}/${name}`;
  }

  /** ensure_parents: missing parents made 0700 (their final metadata at the end). */
  function ensureParents(norm: string): Failure | undefined {
    const parts = norm.split('/');
    for (let i = 0; i < parts.length - 1; i += 1) {
      const rel = parts.slice(0, i + 1).join('/');
      const path = targetOf(root, rel);
      if (isDir(path)) continue;
      try {
        mkdirSync(fsPath(path), 0o700);
        chmodSync(fsPath(path), 0o700);
      } catch (error) {
        const f = failureOf(error);
        return f.code === undefined ? new Failure(undefined, 'cannot create directory') : f;
      }
      created.add(rel);
    }
    return undefined;
  }

  /** write_file: FEED gets a writer (or undefined when nothing can be written: it must still consume its data). */
  async function writeFile(target: string, e: ScanEntry, shown: string, feed: (write: ((chunk: Buffer) => void) | undefined) => Promise<Failure | undefined>): Promise<Failure | undefined> {
    const pmx = inPmxcfs(shown);
    const tmp = tempOf(target);
    let fd: number;
    try {
      fd = openSync(fsPath(tmp), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch (error) {
      await feed(undefined);
      return failureOf(error);
    }
    temps.add(tmp);
    let err: Failure | undefined;
    const feedErr = await feed((chunk) => {
      if (err !== undefined) return;
      try {
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
      } catch (error) {
        err = failureOf(error);
      }
    });
    err ??= feedErr;
    let mode = e.mode & 0o7777;
    if (err === undefined && !pmx && (mode & 0o6000) !== 0) {
      log('WARNING', `Cleared setuid/setgid on ${escPath(shown)} (mode ${mode.toString(8).padStart(4, '0')})`);
      mode &= ~0o6000;
    }
    const step = (action: () => void): void => {
      if (err !== undefined) return;
      try {
        action();
      } catch (error) {
        err = failureOf(error);
      }
    };
    if (asRoot && !pmx) step(() => fchownSync(fd, e.uid, e.gid));
    if (!pmx) step(() => fchmodSync(fd, mode));
    step(() => fsyncSync(fd));
    try {
      closeSync(fd);
    } catch (error) {
      err ??= failureOf(error);
    }
    if (err === undefined) {
      try {
        utimesSync(fsPath(tmp), e.mtime, e.mtime);
      } catch (error) {
        if (!pmx) err = failureOf(error);
      }
    }
    step(() => renameSync(fsPath(tmp), fsPath(target)));
    return settle(tmp, err);
  }

  /** The temp sibling's end: removed when the entry failed, no longer one to clean up either way. */
  function settle(tmp: string, err: Failure | undefined): Failure | undefined {
    if (err !== undefined) removeQuietly(tmp);
    temps.delete(tmp);
    return err;
  }

  function writeSymlink(target: string, e: ScanEntry): Failure | undefined {
    const tmp = tempOf(target);
    try {
      symlinkSync(fsPath(e.link), fsPath(tmp));
    } catch (error) {
      return failureOf(error);
    }
    temps.add(tmp);
    let err: Failure | undefined;
    try {
      if (asRoot) lchownSync(fsPath(tmp), e.uid, e.gid);
    } catch (error) {
      err = failureOf(error);
    }
    if (err === undefined) {
      try {
        lutimesSync(fsPath(tmp), e.mtime, e.mtime);
      } catch {
        err = new Failure(undefined, 'cannot set the link time');
      }
    }
    if (err === undefined) {
      try {
        renameSync(fsPath(tmp), fsPath(target));
      } catch (error) {
        err = failureOf(error);
      }
    }
    return settle(tmp, err);
  }

  /** feed_from_file: a written file's content (a hard link's source, a rejoined temp). */
  function feedFromFile(from: string): (write: ((chunk: Buffer) => void) | undefined) => Promise<Failure | undefined> {
    return (write) => {
      if (write === undefined) return Promise.resolve(undefined);
      let fd: number;
      try {
        fd = openSync(fsPath(from), 'r');
      } catch (error) {
        return Promise.resolve(failureOf(error));
      }
      try {
        const buffer = Buffer.alloc(1_048_576);
        for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) write(Buffer.from(buffer.subarray(0, n)));
      } catch { /* Perl's read loop ends at an error */ } finally {
        closeSync(fd);
      }
      return Promise.resolve(undefined);
    };
  }

  /** finish_extra: a file written after the pass (a rejoined chunked file, a resolved dedup link). */
  async function finishExtra(a: Action, e: ScanEntry, pre: Failure | undefined,
    feed: (write: ((chunk: Buffer) => void) | undefined) => Promise<Failure | undefined>, info: string): Promise<void> {
    const target = targetOf(root, a.norm);
    const err = pre ?? ensureParents(a.norm) ?? await writeFile(target, e, a.norm, feed);
    if (err !== undefined) {
      abortOrWarn(err, target);
      result.failed += 1;
      return;
    }
    result.files += 1;
    log('INFO', info);
    log('DEBUG', `${a.op === 'create' ? 'Created' : 'Replaced'} ${escPath(target)}`);
  }

  /** finish_dirs: final mode, owner, mtime, deepest first; the count of non-structural directories set. */
  function finishDirs(): number {
    const entryOf = new Map<string, ScanEntry>();
    for (const e of table) if (e.type === '5') entryOf.set(e.norm, e);
    const todo = new Map<string, { mode: number; mtime?: number; uid?: number; gid?: number; category: string }>(dirsMeta);
    for (const rel of created) if (!todo.has(rel)) todo.set(rel, entryOf.get(rel) ?? { mode: 0o755, category: '-' });
    let count = 0;
    const order = [...todo.keys()].sort((a, b) => depth(b) - depth(a) || (b < a ? -1 : b > a ? 1 : 0));
    for (const rel of order) {
      const e = todo.get(rel) as { mode: number; mtime?: number; uid?: number; gid?: number; category: string };
      const path = targetOf(root, rel);
      if (isLink(path)) continue;
      if (inPmxcfs(rel)) {
        try {
          if (e.mtime !== undefined) utimesSync(fsPath(path), e.mtime, e.mtime);
        } catch { /* best effort */ }
      } else {
        try {
          if (asRoot && e.uid !== undefined) chownSync(fsPath(path), e.uid, e.gid ?? 0);
          chmodSync(fsPath(path), e.mode & 0o7777);
          if (e.mtime !== undefined) utimesSync(fsPath(path), e.mtime, e.mtime);
        } catch (error) {
          abortOrWarn(failureOf(error), path);
          continue;
        }
      }
      if (e.category !== '-' && (dirsMeta.has(rel) || created.has(rel))) count += 1;
      if (created.has(rel)) log('DEBUG', `Created ${escPath(path)}`);
    }
    return count;
  }

  let finished = false;
  /** ON_STOP: temps removed, directories finished (once), whatever ended the pass. */
  function stop(): void {
    for (const tmp of temps) removeQuietly(tmp);
    temps.clear();
    if (finished) return;
    finished = true;
    try {
      result.dirs = finishDirs();
    } catch (error) {
      if (!(error instanceof Stop)) throw error;
      result.stop ??= error.stop;
    }
    progressClear();
  }

  for (const [i, a] of plan.actions) {
    if (a.source.kind === 'dedup') {
      dedupCache.set(a.source.index, []);
      deferred.push(i);
    } else if (a.source.kind === 'chunks' && a.source.parts.length > 0) {
      for (const part of a.source.parts) chunkTarget.set(part.index, { marker: i, offset: part.offset });
    }
  }
  try {
    let index = 0;
    for (let h = await nextEntry(reader); h !== undefined; h = await nextEntry(reader)) {
      if (settings.interrupted()) throw new Stop({ kind: 'interrupted' });
      const e = table[index];
      const type = h.type === '7' ? '0' : h.type;
      if (e === undefined || e.name !== h.name || e.type !== type || e.size !== h.size) throw new Stop({ kind: 'changed' });
      const i = index;
      index += 1;
      const sinks: ((chunk: Buffer) => void)[] = [];
      const cache = dedupCache.get(i);
      if (cache !== undefined) sinks.push((chunk) => cache.push(Buffer.from(chunk)));
      const ct = chunkTarget.get(i);
      if (ct !== undefined) {
        let state = chunkFiles.get(ct.marker);
        if (state === undefined) {
          state = chunkOpen(plan.actions.get(ct.marker)?.norm ?? '');
          chunkFiles.set(ct.marker, state);
        }
        if (!(state instanceof Failure)) {
          const s = state;
          let offset = ct.offset;
          sinks.push((chunk) => {
            if (s.err !== undefined) return;
            try {
              writeSync(s.fd, chunk, 0, chunk.length, offset);
            } catch (error) {
              s.err = failureOf(error);
            }
            offset += chunk.length;
          });
        }
      }
      const consume = async (write: ((chunk: Buffer) => void) | undefined): Promise<Failure | undefined> => {
        const all = write === undefined ? sinks : [...sinks, write];
        await copyData(reader, h.data, all.length === 0 ? undefined : (chunk) => { for (const sink of all) sink(chunk); });
        return undefined;
      };
      const a = plan.actions.get(i);
      if (a === undefined || a.op === 'remove' || a.source.kind === 'dedup' || (a.source.kind === 'chunks' && a.source.parts.length > 0)) {
        await consume(undefined);
        continue;
      }
      const target = targetOf(root, a.norm);
      let err = ensureParents(e.type === '5' ? `${a.norm}/x` : a.norm);
      if (err !== undefined) await consume(undefined);
      else if (e.type === '5') {
        await consume(undefined);
        dirsMeta.set(a.norm, e);
      } else if (e.type === '2') {
        await consume(undefined);
        err = writeSymlink(target, e);
      } else if (e.type === '1' && a.source.kind === 'hardlink') {
        await consume(undefined);
        err = await writeFile(target, e, a.norm, feedFromFile(targetOf(root, plan.actions.get(a.source.index)?.norm ?? '')));
      } else err = await writeFile(target, e, a.norm, consume);
      pDone += 1;
      if (e.type === '0') pBytes += e.size;
      progress();
      if (err !== undefined) {
        abortOrWarn(err, target);
        result.failed += 1;
        continue;
      }
      if (e.type === '5') continue;
      if (e.type === '2') result.links += 1;
      else result.files += 1;
      log('DEBUG', `${a.op === 'create' ? 'Created' : 'Replaced'} ${escPath(target)}`);
    }
    if (index !== table.length) throw new CorruptArchive('the archive ends early');
    for (const mi of [...chunkFiles.keys()].sort((x, y) => x - y)) {
      const state = chunkFiles.get(mi);
      const m = plan.actions.get(mi);
      const marker = table[mi];
      if (state === undefined || m === undefined || marker === undefined || m.source.kind !== 'chunks') continue;
      if (state instanceof Failure) {
        abortOrWarn(state, targetOf(root, m.norm));
        result.failed += 1;
        continue;
      }
      closeSync(state.fd);
      await finishExtra(m, marker, state.err, feedFromFile(state.tmp), `Rejoined ${escPath(m.norm)} from ${m.source.parts.length} chunks`);
      removeQuietly(state.tmp);
      temps.delete(state.tmp);
    }
    for (const i of deferred.sort((x, y) => x - y)) {
      const a = plan.actions.get(i);
      if (a?.source.kind !== 'dedup') continue;
      const content = Buffer.concat(dedupCache.get(a.source.index) ?? []);
      const source = table[a.source.index] as ScanEntry;
      await finishExtra(a, source, undefined, (write) => {
        write?.(content);
        return Promise.resolve(undefined);
      }, `Resolved deduplicated link ${escPath(a.norm)}`);
    }
    for (const [, a] of plan.actions) {
      if (a.op !== 'remove') continue;
      const target = targetOf(root, a.norm);
      try {
        unlinkSync(fsPath(target));
        log('INFO', `Removed stale ${escPath(target)}`);
      } catch (error) {
        abortOrWarn(failureOf(error), target);
        result.failed += 1;
      }
    }
  } catch (error) {
    if (error instanceof Stop) result.stop = error.stop;
    stop();
    if (!(error instanceof Stop)) throw error;
    await reader.drain();
    return result;
  }
  stop();
  return result;

  function chunkOpen(norm: string): { fd: number; tmp: string; err?: Failure } | Failure {
    const target = targetOf(root, norm);
    const err = ensureParents(norm);
    if (err !== undefined) return err;
    const tmp = tempOf(target, '.chunks');
    try {
      const fd = openSync(fsPath(tmp), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      temps.add(tmp);
      return { fd, tmp };
    } catch (error) {
      return failureOf(error);
    }
  }
}
