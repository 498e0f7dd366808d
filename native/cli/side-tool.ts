// What the native side tools share with their legacy twins' main(): the common options (`--config FILE`, `-e`,
// `--env`, `-v`, `-h`) parsed in order with the same messages, and the configuration loaded and reported as
// config_load + cli_report_config do (errors on stderr, exit 2; warnings as WARNING lines on stdout), and the
// run lock taken as orchestrator_lock takes it.
import { CONFIG_KEYS, isSecretKey, type ConfigValues } from '../core/config-keys.js';
import { typedConfig } from '../core/config-view.js';
import { loadConfig } from '../core/config.js';
import { esc } from '../core/esc.js';
import { ExitCode, type ExitStatus } from '../core/exit-code.js';
import { removeLeftoverRuns } from '../core/leftovers.js';
import { acquireRunLock } from '../core/lock.js';
import { RunLog, type DebugLevel } from '../core/log.js';
import { Redactor, secretsOf } from '../core/redact.js';
import type { CliEnvironment } from './environment.js';
import { legacyUsage } from './legacy-usage.js';

export interface CommonOptions { config?: string; verbose: boolean; help: boolean }

/**
 * The common options; `own(arg)` takes the tool's other options (true when it knew the argument). `-h` stops
 * the parse where it stands, as legacy's `usage; return 0`. A string is a usage error's message.
 */
export function parseToolArgs(args: readonly string[], own: (arg: string) => boolean): CommonOptions | string {
  const parsed: CommonOptions = { verbose: false, help: false };
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg === '-h' || arg === '--help') return { ...parsed, help: true };
    else if (arg === '-v' || arg === '--verbose') parsed.verbose = true;
    else if (arg === '--config' || arg === '-e' || arg === '--env') {
      const next = args[i + 1];
      if (next === undefined) return `Option ${arg} needs a file`;
      parsed.config = next;
      i += 1;
    } else if (arg.startsWith('--config=') || arg.startsWith('--env=')) parsed.config = arg.slice(arg.indexOf('=') + 1);
    else if (!own(arg)) return `Unknown option: ${esc(arg)}`;
  }
  return parsed;
}

/** A usage error on stderr (the usage text after an unknown option), or --help on stdout: the exit status. */
export function answerUsage(codeDir: string, tool: string, parsed: CommonOptions | string): 0 | 2 {
  if (typeof parsed !== 'string') {
    process.stdout.write(legacyUsage(codeDir, tool));
    return 0;
  }
  process.stderr.write(`${parsed}\n`);
  if (parsed.startsWith('Unknown')) process.stderr.write(legacyUsage(codeDir, tool));
  return 2;
}

export interface ToolContext {
  readonly configFile: string;
  /** The loaded configuration, typed (native/core/config-view.ts). */
  readonly config: ConfigValues;
  readonly log: RunLog;
  readonly exitCode: ExitCode;
}

/** The configuration loaded (`-v`: DEBUG_LEVEL=advanced) and the console log; undefined after config errors. */
export function openTool(environment: CliEnvironment, options: CommonOptions): ToolContext | undefined {
  const { baseDir, env } = environment;
  const configFile = options.config ?? `${baseDir}/env/backup.env`;
  const config = loadConfig({ configPath: configFile, baseDir, env, overrides: new Map(options.verbose ? [['DEBUG_LEVEL', 'advanced']] : []) });
  if (config.errors.length > 0) {
    for (const message of config.errors) process.stderr.write(`ERROR: ${message}\n`);
    return undefined;
  }
  const typed = typedConfig(config.values);
  const exitCode = new ExitCode();
  const log = new RunLog({
    now: environment.now, debugLevel: (typed.DEBUG_LEVEL || 'standard') as DebugLevel,
    console: { write: (text) => process.stdout.write(text), isTTY: process.stdout.isTTY === true },
    // The loader put DISABLE_COLORS from the environment over the file's: env.DISABLE_COLORS=true is in it.
    disableColours: typed.DISABLE_COLORS,
    redactor: new Redactor(secretsOf(config.values, CONFIG_KEYS.filter(isSecretKey).map((k) => k.name))), exitCode,
  });
  for (const message of config.warnings) log.warning(message);
  return { configFile, config: typed, log, exitCode };
}

/**
 * `work` under the run lock (run.md §7), as legacy orchestrator_lock: held → ERROR and 2; a stale holder's note;
 * the leftovers of this installation's dead runs removed (named only with `dryRun`); the lock emptied after.
 */
export async function underRunLock(environment: CliEnvironment, log: RunLog, dryRun: boolean,
  work: () => Promise<ExitStatus>): Promise<ExitStatus> {
  const lock = acquireRunLock(environment.baseDir, esc);
  if (!lock.ok) {
    log.error(lock.error);
    return 2;
  }
  try {
    for (const note of lock.notes) log.log(note.level, note.message);
    removeLeftoverRuns(environment.env.TMPDIR || '/tmp', environment.baseDir, undefined, { dryRun, log, escape: esc });
    return await work();
  } finally {
    lock.lock.release();
  }
}
