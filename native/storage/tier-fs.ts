// The file operations of the local tiers (storage.md §2, §4, §7), in-process, with legacy's outcome and words: each
// failure is the first line GNU coreutils would print for the command legacy runs there (mkdir -p, cp, chmod,
// sync, mv -f, rm -f), which storage.md's `<reason>` is.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync,
  statfsSync, statSync, unlinkSync } from 'node:fs';
import { copyFile, open, type FileHandle } from 'node:fs/promises';
import { errnoCode, localeQuote, shellQuote, strerror } from '../core/coreutils.js';
import { isDirectory } from '../core/programs.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `mkdir -p DIR`: each missing component made in turn (mode 0777 less the umask); undefined, or the line mkdir
 * prints for the first component that fails (an existing non-directory on the way is `Not a directory`, at the
 * end `File exists`).
 */
export function makeDirs(dir: string, env: Env): string | undefined {
  const ends: number[] = [];
  for (let i = 1; i <= dir.length; i += 1) {
    if ((i === dir.length || dir[i] === '/') && dir[i - 1] !== '/') ends.push(i);
  }
  for (const [index, end] of ends.entries()) {
    const prefix = dir.slice(0, end);
    try {
      mkdirSync(prefix, 0o777);
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'EEXIST' && isDirectory(prefix)) continue;
      const why = code === 'EEXIST' ? (index === ends.length - 1 ? 'EEXIST' : 'ENOTDIR') : code;
      return `mkdir: cannot create directory ${localeQuote(prefix, env)}: ${strerror(why)}`;
    }
  }
  return undefined;
}

/** `chmod MODE PATH`: undefined, or chmod's line. */
export function changeMode(path: string, mode: number): string | undefined {
  try {
    chmodSync(path, mode);
    return undefined;
  } catch (error) {
    return `chmod: changing permissions of ${shellQuote(path)}: ${strerror(errnoCode(error))}`;
  }
}

/**
 * storage_copy_file (storage.md §2 step 2): SRC to DIR/<name>.tmp, 0600, fsync, renamed over DIR/<name>; the
 * temp file removed on failure. Undefined, or the first line of the failing command's error (cp, chmod, sync, mv).
 */
export async function copyIntoTier(src: string, dir: string): Promise<string | undefined> {
  const name = src.slice(src.lastIndexOf('/') + 1);
  const tmp = `${dir}/${name}.tmp`;
  const failed = (line: string): string => {
    rmSync(tmp, { force: true });
    return line;
  };
  let mode: number;
  try {
    mode = statSync(src).mode & 0o7777;
  } catch (error) {
    return `cp: cannot stat ${shellQuote(src)}: ${strerror(errnoCode(error))}`;
  }
  try {
    closeSync(openSync(tmp, 'w', mode));
  } catch (error) {
    return `cp: cannot create regular file ${shellQuote(tmp)}: ${strerror(errnoCode(error))}`;
  }
  try {
    await copyFile(src, tmp);
  } catch (error) {
    const code = errnoCode(error);
    const what = code === 'ENOENT' || code === 'EACCES' ? `cannot open ${shellQuote(src)} for reading` : `error writing ${shellQuote(tmp)}`;
    return failed(`cp: ${what}: ${strerror(code)}`);
  }
  const chmodError = changeMode(tmp, 0o600);
  if (chmodError !== undefined) return failed(chmodError);
  try {
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    return failed(`sync: error syncing ${shellQuote(tmp)}: ${strerror(errnoCode(error))}`);
  }
  try {
    renameSync(tmp, `${dir}/${name}`);
  } catch (error) {
    return failed(`mv: cannot move ${shellQuote(tmp)} to ${shellQuote(`${dir}/${name}`)}: ${strerror(errnoCode(error))}`);
  }
  return undefined;
}

/** The parts of a set, in deletion order: the archive (or log) first, then its sidecars (a log's `.jsonl` twin). */
export function setParts(name: string): string[] {
  return [name, `${name}.sha256`, `${name}.metadata`, `${name}.jsonl`];
}

/**
 * storage_delete_local_set: each part of the set that exists (a symlink too) removed, in order; undefined, or the
 * part that could not be removed and rm's line for it (the parts after it are left).
 */
export function deleteSet(dir: string, name: string): { readonly part: string; readonly reason: string } | undefined {
  for (const part of setParts(name)) {
    const path = `${dir}/${part}`;
    try {
      lstatSync(path);
    } catch {
      continue;
    }
    try {
      unlinkSync(path);
    } catch (error) {
      return { part, reason: `rm: cannot remove ${shellQuote(path)}: ${strerror(errnoCode(error))}` };
    }
  }
  return undefined;
}

/** `find DIR -mindepth 1 -maxdepth 1 -type f -printf '%f\n'`: the regular files directly in DIR (none if unreadable). */
export function regularFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((name) => {
    try {
      return lstatSync(`${dir}/${name}`).isFile();
    } catch {
      return false;
    }
  });
}

/** Use% of the filesystem holding PATH as df computes it (storage.md §7), undefined when it cannot be read. */
export function usePercent(path: string): number | undefined {
  let stats;
  try {
    stats = statfsSync(path);
  } catch {
    return undefined;
  }
  const used = stats.blocks - stats.bfree;
  const total = used + stats.bavail;
  if (total <= 0) return 0;
  return Math.floor((100 * used + total - 1) / total);
}

const HASH_CHUNK = 1 << 20;

/**
 * The SHA-256 of a file in hex, undefined when it cannot be read. Two 1 MiB buffers, reused: the next chunk is read
 * (on the thread pool) while this one is hashed, and no chunk is allocated (a read stream's new buffer per MiB cost
 * 0.6 CPU s per GiB in allocation and garbage collection, and 30 MiB of RSS; make bench, storage section).
 */
export async function sha256File(path: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const buffers = [Buffer.allocUnsafe(HASH_CHUNK), Buffer.allocUnsafe(HASH_CHUNK)] as const;
    let index = 0;
    let pending = handle.read(buffers[0], 0, HASH_CHUNK, null);
    for (;;) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) break;
      index ^= 1;
      pending = handle.read(buffers[index] ?? buffers[0], 0, HASH_CHUNK, null);
      hash.update(buffer.subarray(0, bytesRead));
    }
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => undefined);
  }
  return hash.digest('hex');
}

/** `$(< FILE)`: the text with trailing newlines removed, '' when it cannot be read. */
export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\n+$/, '');
  } catch {
    return '';
  }
}
