// rclone as legacy storage_rclone calls it for the restore tools: `rclone ARGS… $RCLONE_FLAGS --timeout Ns
// --contimeout Ns`, argv arrays (never a shell), no stdin, the whole process group ended N+5 s later.
import { runInGroup } from '../core/group-spawn.js';

export interface RcloneResult {
  readonly ok: boolean; readonly stdout: Buffer; readonly stderr: string;
  /** Ended by the wall bound (legacy: timeout's 124, or 137 when it needed the KILL). */
  readonly timedOut: boolean;
}

/** storage_remote: `REMOTE:PATH` without a trailing slash on PATH. */
export function remoteOf(remote: string, path: string): string {
  return `${remote}:${path.endsWith('/') ? path.slice(0, -1) : path}`;
}

/** RCLONE_FLAGS as `read -r -a` splits them: the first line, at blanks. */
export function rcloneFlags(flags: string): string[] {
  return (flags.split('\n', 1)[0] ?? '').split(/[ \t]+/).filter((f) => f !== '');
}

/**
 * storage_rclone_timed_out: an rclone ended by its bound (WALLSECONDS + 5) that printed nothing gets a reason
 * (storage.md §11) rather than "unknown error" — for the storage stages and the restore tools alike.
 */
export function timedOutReason(stderr: string, timedOut: boolean, wallSeconds: number): string {
  return timedOut && stderr === '' ? `rclone did not finish within ${wallSeconds + 5} s\n` : stderr;
}

/** WALLSECONDS (default LIMITSECONDS): when the process is ended; an upload may move data for longer than rclone's
 * idle and connect timeouts (legacy storage_rclone_within). */
export async function rclone(args: readonly string[], limitSeconds: number, flags: string,
  env: Readonly<Record<string, string | undefined>>, wallSeconds = limitSeconds): Promise<RcloneResult> {
  const result = await runInGroup('rclone', [...args, ...rcloneFlags(flags), '--timeout', `${limitSeconds}s`, '--contimeout', `${limitSeconds}s`],
    { timeoutMs: (wallSeconds + 5) * 1000, env });
  const stderr = result.stderr.toString('latin1');
  return { ok: result.exitCode === 0 && !result.timedOut, stdout: result.stdout, stderr: timedOutReason(stderr, result.timedOut, wallSeconds), timedOut: result.timedOut };
}
