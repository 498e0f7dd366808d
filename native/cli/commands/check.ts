// `switch-mode check`: validate backup.env and flags.json, print the resolved configuration with
// secrets masked and where each value came from. Exit 0 clean, 1 warnings, 2 errors (decision 1).
import { join } from 'node:path';
import { CONFIG_KEYS, KEYS_BY_NAME, isSecretKey } from '../../core/config-keys.js';
import { loadConfig, type LoadedConfig, type Origin } from '../../core/config.js';
import { quoteEnvValue } from '../../core/state-env.js';
import type { ExitStatus } from '../../core/exit-code.js';
import { readFlagsFile } from '../../switch/flags-file.js';
import type { CliEnvironment } from '../environment.js';
import { err, out } from '../output.js';

export interface ConfigArgs {
  readonly config?: string;
  readonly host?: string;
  readonly verbose?: boolean;
  readonly extreme?: boolean;
}

export function configPathOf(environment: CliEnvironment, args: ConfigArgs): string {
  return args.config ?? join(environment.baseDir, 'env', 'backup.env');
}

export function cliOverrides(args: ConfigArgs): Map<string, string> {
  const overrides = new Map<string, string>();
  if (args.verbose === true) overrides.set('DEBUG_LEVEL', 'advanced');
  if (args.extreme === true) overrides.set('DEBUG_LEVEL', 'extreme');
  if (args.host !== undefined) overrides.set('SYSTEM_ROOT_PREFIX', join(args.host, 'root'));
  return overrides;
}

export function loadFromArgs(environment: CliEnvironment, args: ConfigArgs): LoadedConfig {
  return loadConfig({
    configPath: configPathOf(environment, args),
    baseDir: environment.baseDir,
    env: environment.env,
    overrides: cliOverrides(args),
  });
}

function describeOrigin(origin: Origin | undefined, label: string): string {
  switch (origin?.kind) {
    case 'file': return `${label}:${origin.line}`;
    case 'environment': return 'environment';
    case 'command line': return 'command line';
    default: return 'default';
  }
}

export function formatCheckReport(config: LoadedConfig, label: string): string {
  const lines: string[] = [];
  for (const name of [...CONFIG_KEYS.map((k) => k.name), ...config.unknownKeys]) {
    const value = config.values.get(name);
    if (value === undefined) continue;
    const spec = KEYS_BY_NAME.get(name);
    const shown = spec !== undefined && isSecretKey(spec) && value !== '' ? '***' : quoteEnvValue(value);
    const origin = spec === undefined ? `${label} (unknown key)` : describeOrigin(config.origins.get(name), label);
    lines.push(`${name}=${shown}  # ${origin}`);
  }
  return `${lines.join('\n')}\n`;
}

export function runCheck(environment: CliEnvironment, args: ConfigArgs): ExitStatus {
  const config = loadFromArgs(environment, args);
  for (const message of config.errors) err(`ERROR: ${message}`);
  for (const message of config.warnings) err(`WARNING: ${message}`);
  const flagsPath = join(environment.baseDir, 'flags.json');
  const flags = readFlagsFile(flagsPath);
  let status: ExitStatus = config.errors.length > 0 ? 2 : config.warnings.length > 0 ? 1 : 0;
  if (!flags.ok && !flags.missing) {
    err(`WARNING: flags.json is invalid (${flags.reason}); running every domain in bash`);
    if (status === 0) status = 1;
  }
  if (config.errors.length > 0) {
    err(`Configuration invalid: ${config.errors.length} error(s) in ${config.configPath}`);
    return 2;
  }
  out(`# Resolved configuration from ${config.configPath} (secrets masked)`);
  out(formatCheckReport(config, config.configPath.split('/').pop() ?? 'backup.env'));
  out(`# flags.json: ${flags.ok ? 'valid' : flags.missing ? 'absent (every domain bash)' : 'INVALID (every domain bash)'}`);
  return status;
}
