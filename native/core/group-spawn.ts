// One child in its own process group (run.md §7, decision 24): a timeout ends the whole group (TERM, then KILL
// 5 s later), the result is taken when the child exits, and its pipes are read for a bounded time after that,
// so a grandchild that survives holding stdout or stderr can never hang the caller.
import { spawn } from 'node:child_process';

export interface GroupResult {
  /** The exit code, or undefined when a signal ended the child. */
  readonly exitCode: number | undefined;
  readonly signal: NodeJS.Signals | undefined;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly timedOut: boolean;
  /** The program could not be started (ENOENT, EACCES…): its error code. */
  readonly spawnError: string | undefined;
}

export interface GroupOptions {
  readonly timeoutMs: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** How long the pipes are still read once the child has exited (default 1 s). */
  readonly drainMs?: number;
  /** Delay between TERM and KILL to the group (default 5 s, legacy's `timeout -k 5`). */
  readonly killAfterMs?: number;
}

/** Sends SIGNAL to the process group led by PID; a group already gone is not an error. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing of the group is left
  }
}

/** TERM to the group now, KILL to what is left of it after KILLAFTERMS (a timer that keeps nothing alive). */
function endGroup(pid: number | undefined, killAfterMs: number): NodeJS.Timeout {
  signalGroup(pid, 'SIGTERM');
  const killer = setTimeout(() => signalGroup(pid, 'SIGKILL'), killAfterMs);
  return killer;
}

export function runInGroup(file: string, args: readonly string[], options: GroupOptions): Promise<GroupResult> {
  const drainMs = options.drainMs ?? 1000;
  const killAfterMs = options.killAfterMs ?? 5000;
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...options.env }, cwd: options.cwd, detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let settled = false;
    let killer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      killer = endGroup(child.pid, killAfterMs);
    }, options.timeoutMs);
    const settle = (exitCode: number | undefined, signal: NodeJS.Signals | undefined, spawnError?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ exitCode, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err), timedOut, spawnError });
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(killer);
      settle(undefined, undefined, error.code ?? 'ERROR');
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const done = (): void => settle(code ?? undefined, signal ?? undefined);
      // Both pipes closed: nothing else of the group holds them. Else what is left of the group is ended and the
      // pipes are read for DRAINMS at most, never waited on.
      const pipes = [child.stdout, child.stderr].filter((pipe) => !pipe.closed);
      if (pipes.length === 0) {
        done();
        return;
      }
      const drain = setTimeout(() => {
        if (killer === undefined) killer = endGroup(child.pid, killAfterMs);
        done();
      }, drainMs);
      let open = pipes.length;
      const closed = (): void => {
        open -= 1;
        if (open > 0) return;
        clearTimeout(drain);
        done();
      };
      for (const pipe of pipes) pipe.once('close', closed);
    });
  });
}
