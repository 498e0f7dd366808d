// Running host commands: argv arrays only, no shell, one result shape for success and failure
// (execa with reject: false), a timeout on every call, no stdin, LC_ALL=C (collect.md §1.3).
import { execa } from 'execa';

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
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

export type Exec = (argv: readonly string[], options: ExecOptions) => Promise<ExecResult>;

export const execCommand: Exec = async (argv, options) => {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('execCommand: empty argv');
  const started = performance.now();
  const result = await execa(file, args, {
    reject: false,
    stdin: 'ignore',
    timeout: options.timeoutMs,
    killSignal: 'SIGKILL',
    env: { ...options.env, LC_ALL: 'C' },
    extendEnv: options.env === undefined,
    cwd: options.cwd,
    stripFinalNewline: false,
    encoding: 'utf8',
  });
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  return {
    argv,
    exitCode: result.exitCode,
    signal: result.signal,
    stdout,
    stderr,
    timedOut: result.timedOut,
    notFound: (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT',
    durationMs: Math.round(performance.now() - started),
  };
};

export function succeeded(result: ExecResult): boolean {
  return result.exitCode === 0 && !result.timedOut;
}
