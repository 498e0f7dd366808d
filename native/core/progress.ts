// Progress of the long phases (files collected, bytes archived) on an interactive terminal: one line on stderr,
// rewritten in place at most every 200 ms and erased when the phase ends. Never written when stderr is not a
// TTY (cron, a pipe, a log file): the log files and the console log lines stay exactly as legacy writes them.

export interface ProgressSink {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** The progress line on screen now, if any: a log line written to the console erases it first. */
const showing = new Set<Progress>();

/** Erases the progress line before a log line is written to the console (RunLog calls it). */
export function clearProgressLine(): void {
  for (const progress of showing) progress.clear();
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
    showing.add(this);
    this.sink?.write(`\r\u001b[2K${text}`);
  }

  /** Erases the line; the next update draws it again. */
  clear(): void {
    if (!this.active || !this.shown) return;
    this.sink?.write('\r\u001b[2K');
    this.shown = false;
    showing.delete(this);
  }

  /** The phase is over: the line is erased (the next log line starts on a clean row). */
  done(): void {
    this.clear();
  }
}
