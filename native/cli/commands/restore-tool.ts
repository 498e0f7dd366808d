// The front of the native `list` and `verify` (restore.md §1): legacy/bin/proxmox-restore's main() — its usage
// text, the options every subcommand takes (-h, -v, -x, --config/-e/--env), the configuration loaded as
// config_load and cli_report_config do, and the log (no colour unless LOG_COLOURS=true, nothing redacted: the
// legacy tool registers no secret). What is left of the arguments goes to the subcommand.
import type { ConfigValues } from '../../core/config-keys.js';
import { typedConfig } from '../../core/config-view.js';
import { loadConfig } from '../../core/config.js';
import { ExitCode, type ExitStatus } from '../../core/exit-code.js';
import { RunLog, type DebugLevel } from '../../core/log.js';
import { Redactor } from '../../core/redact.js';
import type { CliEnvironment } from '../environment.js';
import { legacyUsage } from '../legacy-usage.js';

/** usage(): the header comment of legacy/bin/proxmox-restore from line 2 to `# Exit codes`. */
export function restoreUsage(codeDir: string): string {
  return legacyUsage(codeDir, 'proxmox-restore');
}

/** usage_error: ERROR and the usage on stderr, exit 2. */
export function usageError(codeDir: string, message: string): ExitStatus {
  process.stderr.write(`ERROR: ${message}\n${restoreUsage(codeDir)}`);
  return 2;
}

/** The console of the log: stdout, or stderr once `list` moves its log lines there (fd 3 swap). */
export class SwitchableConsole {
  private stream: NodeJS.WriteStream = process.stdout;

  toStderr(): void {
    this.stream = process.stderr;
  }

  write(text: string): void {
    this.stream.write(text);
  }

  get isTTY(): boolean {
    return this.stream.isTTY === true;
  }
}

export interface ToolContext {
  readonly environment: CliEnvironment;
  readonly log: RunLog;
  readonly exitCode: ExitCode;
  readonly console: SwitchableConsole;
  /** The loaded configuration, typed (native/core/config-view.ts). */
  readonly config: ConfigValues;
  /** The subcommand's own arguments, in order. */
  readonly rest: readonly string[];
}

/** main() up to the subcommand: an exit status when it ends there (help, usage error, bad config). */
export function openTool(environment: CliEnvironment, args: readonly string[]): ToolContext | ExitStatus {
  const { codeDir, baseDir, env } = environment;
  const overrides = new Map<string, string>();
  const rest: string[] = [];
  let config: string | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(restoreUsage(codeDir));
      return 0;
    } else if (arg === '-v' || arg === '--verbose') overrides.set('DEBUG_LEVEL', 'advanced');
    else if (arg === '-x' || arg === '--extreme') overrides.set('DEBUG_LEVEL', 'extreme');
    else if (arg === '--config' || arg === '-e' || arg === '--env') {
      const next = args[i + 1];
      if (next === undefined) return usageError(codeDir, `Option ${arg} needs a file`);
      config = next;
      i += 1;
    } else if (arg.startsWith('--config=') || arg.startsWith('--env=')) config = arg.slice(arg.indexOf('=') + 1);
    else rest.push(arg);
  }
  const loaded = loadConfig({ configPath: config ?? `${baseDir}/env/backup.env`, baseDir, env, overrides });
  if (loaded.errors.length > 0) {
    for (const message of loaded.errors) process.stderr.write(`ERROR: ${message}\n`);
    return 2;
  }
  const typed = typedConfig(loaded.values);
  const exitCode = new ExitCode();
  const sink = new SwitchableConsole();
  const log = new RunLog({
    now: environment.now, debugLevel: (typed.DEBUG_LEVEL || 'standard') as DebugLevel, console: sink,
    // eslint-disable-next-line no-restricted-syntax -- LOG_COLOURS is bin/switch-mode's environment switch, not a configuration key
    disableColours: env.LOG_COLOURS !== 'true', redactor: new Redactor([]), exitCode,
  });
  for (const message of loaded.warnings) log.warning(message);
  return { environment, log, exitCode, console: sink, config: typed, rest };
}
