// Host commands for collection (collect.md §1.3): argv only, no stdin, LC_ALL=C, a timeout each (TERM, then KILL
// 5 s later: legacy's `timeout -k 5`), stdout kept as bytes. Independent commands run concurrently in a bounded
// pool: a section asks for its commands up front (`prefetch`), then reads each result in table order (`run`), so
// the log lines and the staging tree come out in legacy order while the commands overlap in time.
import pLimit from 'p-limit';
import { runInGroup } from '../../core/group-spawn.js';

export interface CommandResult {
  /** 0 on success; 124 when the timeout ended it (what `timeout` returns); 128+n for a signal. */
  readonly status: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/** One command in its own process group: a timeout ends its grandchildren too, and a pipe one of them keeps
 * open never holds the run (run.md §7). */
export async function runOnce(argv: readonly string[], timeoutSeconds: number, env: Readonly<Record<string, string | undefined>>): Promise<CommandResult> {
  const [file, ...args] = argv;
  const result = await runInGroup(file ?? 'false', args, { timeoutMs: timeoutSeconds * 1000, env: { ...env, LC_ALL: 'C' } });
  const stderr = result.stderr.toString('latin1');
  if (result.spawnError !== undefined) return { status: 127, stdout: result.stdout, stderr };
  if (result.timedOut) return { status: 124, stdout: result.stdout, stderr };
  const status = result.exitCode ?? 128 + (SIGNALS[result.signal ?? ''] ?? 0);
  return { status, stdout: result.stdout, stderr };
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
