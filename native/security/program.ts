// Runs one program of the process and network checks (security.md §5.1): an argument vector, no stdin,
// LC_ALL=C, 10 s (TERM, then KILL 2 s later, as `timeout -k 2 10`), stdout kept as bytes (a latin1 string, one
// character per byte) so a crafted process name reaches esc() unchanged.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

export interface ProgramResult {
  /** The exit status; 124 when it timed out (as timeout(1) reports it). */
  readonly status: number;
  readonly timedOut: boolean;
  readonly stdout: string;
  /** The first line of stderr, without its newline (latin1). */
  readonly firstStderrLine: string;
}

export function runProgram(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, timeoutMs = 10_000): Promise<ProgramResult> {
  return new Promise((resolve) => {
    const [command = '', ...args] = argv;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, LC_ALL: 'C' } });
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    }, timeoutMs);
    const finish = (status: number): void => {
      clearTimeout(timer);
      if (killer !== undefined) clearTimeout(killer);
      const stderr = Buffer.concat(err).toString('latin1');
      const firstLine = stderr.split('\n')[0] ?? '';
      resolve({ status: timedOut ? 124 : status, timedOut, stdout: Buffer.concat(out).toString('latin1'), firstStderrLine: firstLine });
    };
    child.on('error', () => finish(127));
    child.on('close', (code, signal) => finish(code ?? 128 + (signal === null ? 0 : constants.signals[signal])));
  });
}
