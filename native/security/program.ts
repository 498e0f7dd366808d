// Runs one program of the process and network checks (security.md §5.1): an argument vector, no stdin,
// LC_ALL=C, 10 s (TERM, then KILL 2 s later, as `timeout -k 2 10`), stdout kept as bytes (a latin1 string, one
// character per byte) so a crafted process name reaches esc() unchanged. Like legacy's core_host_run, the
// program is answered from a recording when PBK_REPLAY_DIR is set (a shadow candidate, a parity --host side B:
// both sides judge the same process list) and recorded when PBK_RECORD_DIR is set (native/core/host-record.ts).
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { recordHostCommand, replayHostCommand } from '../core/host-record.js';

export interface ProgramResult {
  /** The exit status; 124 when it timed out (as timeout(1) reports it). */
  readonly status: number;
  readonly timedOut: boolean;
  readonly stdout: string;
  /** The first line of stderr, without its newline (latin1). */
  readonly firstStderrLine: string;
}

export async function runProgram(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, timeoutMs = 10_000): Promise<ProgramResult> {
  const replay = env.PBK_REPLAY_DIR ?? '';
  if (replay !== '') {
    const recorded = replayHostCommand(replay, argv);
    return resultOf(recorded.status, recorded.stdout, recorded.stderr);
  }
  const result = await spawnProgram(argv, env, timeoutMs);
  const record = env.PBK_RECORD_DIR ?? '';
  if (record !== '') recordHostCommand(record, argv, result);
  return resultOf(result.status, result.stdout, result.stderr);
}

function resultOf(status: number, stdout: Buffer, stderr: Buffer): ProgramResult {
  return {
    status, timedOut: status === 124, stdout: stdout.toString('latin1'),
    firstStderrLine: stderr.toString('latin1').split('\n')[0] ?? '',
  };
}

interface Spawned { readonly status: number; readonly stdout: Buffer; readonly stderr: Buffer }

function spawnProgram(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, timeoutMs: number): Promise<Spawned> {
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
      resolve({ status: timedOut ? 124 : status, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    };
    child.on('error', () => finish(127));
    child.on('close', (code, signal) => finish(code ?? 128 + (signal === null ? 0 : constants.signals[signal])));
  });
}
