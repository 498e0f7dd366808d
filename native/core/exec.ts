// Running host commands: argv arrays only, no shell, one result shape for success and failure
// a timeout on every call that ends the command's whole process group (run.md §7), no stdin, LC_ALL=C
// (collect.md §1.3).
import { runInGroup } from './group-spawn.js';

export interface ExecResult {
  readonly argv: readonly string[];
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly notFound: boolean;
  readonly durationMs: number;
}

export interface ExecOptions {
  readonly timeoutMs: number;
  /** The whole environment of the command (LC_ALL=C is added): passed in, never read from this process. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

export type Exec = (argv: readonly string[], options: ExecOptions) => Promise<ExecResult>;

export const execCommand: Exec = async (argv, options) => {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('execCommand: empty argv');
  const started = performance.now();
  const env = { ...options.env, LC_ALL: 'C' };
  const result = await runInGroup(file, args, { timeoutMs: options.timeoutMs, env, cwd: options.cwd });
  return {
    argv,
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: result.stdout.toString('utf8'),
    stderr: result.stderr.toString('utf8'),
    timedOut: result.timedOut,
    notFound: result.spawnError === 'ENOENT',
    durationMs: Math.round(performance.now() - started),
  };
};

export function succeeded(result: ExecResult): boolean {
  return result.exitCode === 0 && !result.timedOut;
}
