// The run log (run.md §5): `YYYY-MM-DD HH:MM:SS [LEVEL] message` on the console and in the log file,
// with a pino JSON twin beside the file. Every line is redacted, and every WARNING/ERROR line raises the
// exit code (run.md §2), so the code can be recomputed from the log.
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs';
import { destination, pino, stdTimeFunctions, type Logger } from 'pino';
import { ExitCode } from './exit-code.js';
import { Redactor } from './redact.js';
import { clearProgressLine } from './progress.js';

export const LEVELS = ['ERROR', 'WARNING', 'INFO', 'STEP', 'SUCCESS', 'SKIP', 'DEBUG', 'TRACE'] as const;
export type Level = (typeof LEVELS)[number];
export type DebugLevel = 'standard' | 'advanced' | 'extreme';

const PRIORITY: Readonly<Record<Level, number>> = {
  ERROR: 0, WARNING: 1, INFO: 2, STEP: 2, SUCCESS: 2, SKIP: 2, DEBUG: 3, TRACE: 4,
};
const THRESHOLD: Readonly<Record<DebugLevel, number>> = { standard: 2, advanced: 3, extreme: 4 };
const COLOUR: Readonly<Record<Level, string>> = {
  ERROR: '\x1b[0;31m', WARNING: '\x1b[1;33m', INFO: '\x1b[0;34m', STEP: '\x1b[0;36m',
  SUCCESS: '\x1b[0;32m', SKIP: '\x1b[38;5;213m', DEBUG: '\x1b[0;90m', TRACE: '\x1b[0;90m',
};
const RESET = '\x1b[0m';
const PINO_LEVEL: Readonly<Record<Level, 'error' | 'warn' | 'info' | 'debug' | 'trace'>> = {
  ERROR: 'error', WARNING: 'warn', INFO: 'info', STEP: 'info', SUCCESS: 'info', SKIP: 'info',
  DEBUG: 'debug', TRACE: 'trace',
};

/** Shadow diagnostics never change the exit code (run.md §2). */
const PARITY_PREFIX = 'parity: ';

export interface ConsoleSink {
  write(text: string): void;
  readonly isTTY: boolean;
}

export interface LogFields {
  readonly domain?: string;
  readonly stage?: string;
  readonly impl?: 'bash' | 'ts';
  readonly command?: readonly string[];
  readonly exitCode?: number;
  readonly durationMs?: number;
  readonly hostPath?: string;
}

export interface RunLogOptions {
  readonly now: () => Date;
  readonly debugLevel: DebugLevel;
  readonly console: ConsoleSink | undefined;
  readonly disableColours: boolean;
  readonly redactor: Redactor;
  readonly exitCode: ExitCode;
}

export function formatTimestamp(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} `
    + `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** Control characters left in a message become their esc() form; callers esc() outside strings already. */
export function sanitiseMessage(message: string): string {
  // eslint-disable-next-line no-control-regex
  return message.replace(/[\x00-\x1f\x7f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

export function formatLine(timestamp: string, level: Level, message: string): string {
  return `${timestamp} [${level}] ${message}`;
}

interface Entry { line: string; level: Level; message: string; time: number; fields: LogFields }

export class RunLog {
  private readonly early: Entry[] = [];
  private readonly history: Entry[] = [];
  private readonly fds: number[] = [];
  private readonly paths: string[] = [];
  private json: Logger | undefined;

  constructor(private readonly options: RunLogOptions) {}

  isEnabled(level: Level): boolean {
    return PRIORITY[level] <= THRESHOLD[this.options.debugLevel];
  }

  log(level: Level, message: string, fields: LogFields = {}): void {
    if (level === 'ERROR') this.options.exitCode.raise(2);
    else if (level === 'WARNING' && !message.startsWith(PARITY_PREFIX)) this.options.exitCode.raise(1);
    if (!this.isEnabled(level)) return;
    const date = this.options.now();
    const text = this.options.redactor.redact(sanitiseMessage(message));
    const line = formatLine(formatTimestamp(date), level, text);
    const entry = { line, level, message: text, time: date.getTime(), fields };
    const sink = this.options.console;
    if (sink !== undefined) {
      clearProgressLine();
      const colour = sink.isTTY && !this.options.disableColours;
      sink.write(colour ? `${COLOUR[level]}${line}${RESET}\n` : `${line}\n`);
    }
    this.history.push(entry);
    if (this.fds.length === 0) this.early.push(entry);
    else this.writeEntry(entry);
  }

  error(message: string, fields?: LogFields): void { this.log('ERROR', message, fields); }
  warning(message: string, fields?: LogFields): void { this.log('WARNING', message, fields); }
  info(message: string, fields?: LogFields): void { this.log('INFO', message, fields); }
  step(message: string, fields?: LogFields): void { this.log('STEP', message, fields); }
  success(message: string, fields?: LogFields): void { this.log('SUCCESS', message, fields); }
  skip(message: string, fields?: LogFields): void { this.log('SKIP', message, fields); }
  debug(message: string, fields?: LogFields): void { this.log('DEBUG', message, fields); }
  trace(message: string, fields?: LogFields): void { this.log('TRACE', message, fields); }

  /**
   * Appends to `path` (created 0600) from now on, as legacy log_attach_file does: every line logged so far
   * goes first, in order (run.md §5.1) — the early buffer, or the whole content of the first attached file,
   * which also holds the lines other processes (legacy stages) appended to it. With `jsonPath`, the pino twin
   * is opened too and receives every line this process logged so far. Throws when a file cannot be created:
   * the caller decides the level.
   */
  attachFile(path: string, jsonPath?: string): void {
    const fd = openSync(path, 'a', 0o600);
    try {
      if (this.fds.length === 0) {
        for (const entry of this.early.splice(0)) appendFileSync(fd, `${entry.line}\n`);
      } else {
        const first = this.paths[0];
        if (first !== undefined) appendFileSync(fd, readFileSync(first));
      }
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    this.fds.push(fd);
    this.paths.push(path);
    if (jsonPath !== undefined && this.json === undefined) {
      this.json = pino(
        { base: undefined, timestamp: stdTimeFunctions.isoTime, level: 'trace' },
        destination({ dest: jsonPath, sync: true, mode: 0o600 }),
      );
      for (const entry of this.history) this.writeJson(entry);
    }
  }

  private writeEntry(entry: Entry): void {
    for (const fd of this.fds) appendFileSync(fd, `${entry.line}\n`);
    this.writeJson(entry);
  }

  private writeJson(entry: Entry): void {
    if (this.json === undefined) return;
    const fields = Object.fromEntries(Object.entries(entry.fields)
      .map(([key, value]) => [key, typeof value === 'string' ? this.options.redactor.redact(value) : value]));
    this.json[PINO_LEVEL[entry.level]]({ ...fields, lvl: entry.level }, entry.message);
  }

  close(): void {
    for (const fd of this.fds.splice(0)) closeSync(fd);
    this.json?.flush();
  }

  /** A logger for a shadow run: same format and level, its own exit code, no console, writing only `path`. */
  scratch(path: string): RunLog {
    const log = new RunLog({ ...this.options, console: undefined, exitCode: new ExitCode() });
    log.attachFile(path);
    return log;
  }

  /** A secret learnt during the run is redacted from every later line (log_add_secret). */
  addSecret(secret: string): void {
    this.options.redactor.add(secret);
  }

  get exitCode(): ExitCode {
    return this.options.exitCode;
  }
}
