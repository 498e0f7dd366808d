// The run lock (run.md §7) on the TypeScript side. It must exclude a legacy run and be excluded by one, so it
// is the same flock(2) on the same file: Node has no flock, so `flock -n 3` runs on a descriptor shared with
// this process. flock locks belong to the open file description, so the lock stays held by our descriptor
// after the helper exits, and is released when we close it or the process ends, however it ends.
import { chmodSync, closeSync, constants, ftruncateSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

export type LockOutcome =
  | { readonly ok: true; readonly lock: RunLock; readonly notes: readonly LockNote[] }
  | { readonly ok: false; readonly error: string };

export interface LockNote { readonly level: 'INFO' | 'WARNING'; readonly message: string }

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), '' when the process is gone. */
export function processStart(pid: number | string): string {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return '';
  }
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).trim().split(/\s+/);
  // A zombie (Z, or X while being reaped) is gone: a run killed with -9 leaves its node child in that state for a
  // moment, and the next run must not take it for a live owner of the lock or of a run directory.
  if (fields[0] === 'Z' || fields[0] === 'X') return '';
  return fields[19] ?? '';
}

export class RunLock {
  constructor(private fd: number | undefined) {}

  /** Empties the file (the run is over: no holder to report as stale next time), then lets the lock go. */
  release(): void {
    if (this.fd === undefined) return;
    try {
      ftruncateSync(this.fd, 0);
    } finally {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

export function acquireRunLock(baseDir: string, escape: (text: string) => string): LockOutcome {
  const dir = join(baseDir, 'lock');
  const path = join(dir, 'proxmox-backup.lock');
  try {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o700);
  } catch {
    return { ok: false, error: `Cannot create lock directory ${dir}` };
  }
  try {
    const stat = lstatSync(path);
    if (!stat.isFile()) return { ok: false, error: `Lock path is not a regular file: ${escape(path)}` };
  } catch {
    // absent: created below
  }
  let fd: number;
  try {
    const { O_RDWR, O_APPEND, O_CREAT, O_NOFOLLOW } = constants;
    fd = openSync(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
  } catch {
    return { ok: false, error: `Cannot open lock file ${path}` };
  }
  const head = Buffer.alloc(200);
  const holder = head.subarray(0, readSync(fd, head, 0, head.length, 0)).toString('latin1');
  const pid = /pid=(\d+)/.exec(holder)?.[1] ?? 'unknown';
  const start = /start=(\d+)/.exec(holder)?.[1] ?? '';
  // flock -n exits 1 when the lock is held; anything else (missing binary, bad fd) is reported as it is.
  const flock = spawnSync('flock', ['-n', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd], encoding: 'utf8' });
  if (flock.status !== 0) {
    closeSync(fd);
    if (flock.status === 1) return { ok: false, error: `Another backup run is in progress (PID ${pid})` };
    const reason = flock.error?.message ?? (flock.stderr.trim() || `flock exit ${flock.status ?? 'unknown'}`);
    return { ok: false, error: `Cannot lock ${path}: ${reason}` };
  }
  const notes: LockNote[] = [];
  if (holder !== '') {
    if (pid === 'unknown') notes.push({ level: 'WARNING', message: 'Stale lock from PID unknown taken over' });
    else {
      const current = processStart(pid);
      if (current === '' || current !== start) notes.push({ level: 'INFO', message: `Stale lock from PID ${pid} taken over` });
    }
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `pid=${process.pid}\nstart=${processStart(process.pid)}\n`);
  return { ok: true, lock: new RunLock(fd), notes };
}
