// Progress of the long phases (files collected, bytes archived) on an interactive terminal: one line on stderr,
// rewritten in place at most every 200 ms and erased when the phase ends. Never written when stderr is not a
// TTY (cron, a pipe, a log file): the log files and the console log lines stay exactly as legacy writes them.

export interface ProgressSink {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export class Progress {
  private last = 0;
  private shown = false;

  constructor(private readonly sink: ProgressSink | undefined, private readonly intervalMs = 200,
    private readonly clock: () => number = () => performance.now()) {}

  /** stderr when it is a terminal (and PBK_NO_PROGRESS is not set), else a progress that writes nothing. */
  static forConsole(env: Readonly<Record<string, string | undefined>>): Progress {
    const tty = process.stderr.isTTY && (env.PBK_NO_PROGRESS ?? '') === '';
    return new Progress(tty ? process.stderr : undefined);
  }

  get active(): boolean {
    return this.sink?.isTTY === true;
  }

  update(text: string): void {
    if (!this.active) return;
    const now = this.clock();
    if (this.shown && now - this.last < this.intervalMs) return;
    this.last = now;
    this.shown = true;
    this.sink?.write(`\r\u001b[2K${text}`);
  }

  /** Erases the line (the next log line starts on a clean row). */
  done(): void {
    if (!this.active || !this.shown) return;
    this.sink?.write('\r\u001b[2K');
    this.shown = false;
  }
}
