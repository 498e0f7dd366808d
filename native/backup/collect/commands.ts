// Host commands for collection (collect.md §1.3): argv only, no stdin, LC_ALL=C, a timeout each (TERM, then KILL
// 5 s later: legacy's `timeout -k 5`), stdout kept as bytes. Independent commands run concurrently in a bounded
// pool: a section asks for its commands up front (`prefetch`), then reads each result in table order (`run`), so
// the log lines and the staging tree come out in legacy order while the commands overlap in time.
import { spawn } from 'node:child_process';
import pLimit from 'p-limit';

export interface CommandResult {
  /** 0 on success; 124 when the timeout ended it (what `timeout` returns); 128+n for a signal. */
  readonly status: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

export function runOnce(argv: readonly string[], timeoutSeconds: number, env: Readonly<Record<string, string | undefined>>): Promise<CommandResult> {
  const [file, ...args] = argv;
  return new Promise((resolve) => {
    const child = spawn(file ?? 'false', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, LC_ALL: 'C' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    }, timeoutSeconds * 1000);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const finish = (status: number): void => {
      clearTimeout(timer);
      clearTimeout(killer);
      resolve({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('latin1') });
    };
    child.on('error', () => finish(127));
    child.on('close', (code, signal) => {
      if (timedOut) finish(124);
      else finish(code ?? 128 + (SIGNALS[signal ?? ''] ?? 0));
    });
  });
}

export class CommandRunner {
  private readonly started = new Map<string, Promise<CommandResult>>();
  private readonly limit: ReturnType<typeof pLimit>;

  /** `runner`: how one command runs (default runOnce); shadow and parity inject a replay of recorded results here. */
  constructor(private readonly timeoutSeconds: number, private readonly env: Readonly<Record<string, string | undefined>>,
    concurrency: number, private readonly runner?: (argv: readonly string[]) => Promise<CommandResult>) {
    this.limit = pLimit(Math.max(1, concurrency));
  }

  private key(argv: readonly string[]): string {
    return argv.join('\0');
  }

  /** Starts these commands in the pool (each at most once per run). */
  prefetch(argvs: readonly (readonly string[])[]): void {
    for (const argv of argvs) {
      const key = this.key(argv);
      if (!this.started.has(key)) this.started.set(key, this.limit(() => this.runner?.(argv) ?? runOnce(argv, this.timeoutSeconds, this.env)));
    }
  }

  /** The result of this command: the prefetched one, or a run started now. Each result is read once. */
  run(argv: readonly string[]): Promise<CommandResult> {
    this.prefetch([argv]);
    const key = this.key(argv);
    const result = this.started.get(key) as Promise<CommandResult>;
    this.started.delete(key);
    return result;
  }
}
