// `switch-mode security-check` on the ts side (security.md §6): the checks of the gate on demand, the same
// options, lines, and exit codes as legacy/bin/security-check. bin/switch-mode routes here when the `cli` flag
// is ts; with cli=bash or without node the legacy tool runs.
import { readFileSync } from 'node:fs';
import { CONFIG_KEYS, isSecretKey } from '../../core/config-keys.js';
import { loadConfig } from '../../core/config.js';
import { escBytes } from '../../core/esc.js';
import { ExitCode, type ExitStatus } from '../../core/exit-code.js';
import { acquireRunLock } from '../../core/lock.js';
import { RunLog, type DebugLevel } from '../../core/log.js';
import { Redactor, secretsOf } from '../../core/redact.js';
import { detectNames } from '../../backup/detect.js';
import { SecurityChecks } from '../../security/checks.js';
import { writeManifest } from '../../security/manifest.js';
import type { CliEnvironment } from '../environment.js';
import { legacyUsage } from '../legacy-usage.js';

const esc = (text: string): string => escBytes(Buffer.from(text, 'utf8'));

interface Parsed { config?: string; full?: boolean; update: boolean; verbose: boolean; help: boolean }

function parse(args: readonly string[]): Parsed | string {
  const parsed: Parsed = { update: false, verbose: false, help: false };
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg === '-h' || arg === '--help') return { ...parsed, help: true };
    else if (arg === '--full') parsed.full = true;
    else if (arg === '--basic' || arg === '--script-check') parsed.full = false;
    else if (arg === '--update-hashes') parsed.update = true;
    else if (arg === '-v' || arg === '--verbose') parsed.verbose = true;
    else if (arg === '--config' || arg === '-e' || arg === '--env') {
      const next = args[i + 1];
      if (next === undefined) return `Option ${arg} needs a file`;
      parsed.config = next;
      i += 1;
    } else if (arg.startsWith('--config=') || arg.startsWith('--env=')) parsed.config = arg.slice(arg.indexOf('=') + 1);
    else return `Unknown option: ${esc(arg)}`;
  }
  return parsed;
}

export async function runSecurityCheck(environment: CliEnvironment, args: readonly string[]): Promise<ExitStatus> {
  const parsed = parse(args);
  if (typeof parsed === 'string') {
    process.stderr.write(`${parsed}\n`);
    if (parsed.startsWith('Unknown')) process.stderr.write(legacyUsage(environment.codeDir, 'security-check'));
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(legacyUsage(environment.codeDir, 'security-check'));
    return 0;
  }
  const { baseDir, env } = environment;
  const configFile = parsed.config ?? `${baseDir}/env/backup.env`;
  const config = loadConfig({ configPath: configFile, baseDir, env, overrides: new Map(parsed.verbose ? [['DEBUG_LEVEL', 'advanced']] : []) });
  if (config.errors.length > 0) {
    for (const message of config.errors) process.stderr.write(`ERROR: ${message}\n`);
    return 2;
  }
  const value = (key: string): string => config.values.get(key) ?? '';
  const exitCode = new ExitCode();
  const log = new RunLog({
    now: environment.now, debugLevel: (value('DEBUG_LEVEL') || 'standard') as DebugLevel,
    console: { write: (text) => process.stdout.write(text), isTTY: process.stdout.isTTY === true },
    disableColours: env.DISABLE_COLORS === 'true' || value('DISABLE_COLORS') === 'true',
    redactor: new Redactor(secretsOf(config.values, CONFIG_KEYS.filter(isSecretKey).map((k) => k.name))), exitCode,
  });
  for (const message of config.warnings) log.warning(message);
  if (value('SYSTEM_ROOT_PREFIX') === '/' && process.geteuid?.() !== 0) {
    process.stderr.write('ERROR: This tool must run as root\n');
    return 2;
  }
  const { hostname } = await detectNames(env);
  const checks = new SecurityChecks({ baseDir, configFile, log, env, value, hostname, uid: process.geteuid?.() ?? 0 });
  if (parsed.update) return recordHashes(checks, baseDir, log);
  {
    const full = parsed.full ?? value('FULL_SECURITY_CHECK') === 'true';
    log.step(`Security checks (${full ? 'full' : 'basic'})`);
    if (value('REMOVE_UNAUTHORIZED_FILES') === 'true') log.info('REMOVE_UNAUTHORIZED_FILES is ignored: unexpected files are reported, never deleted');
    await checks.all(full);
    if (checks.differences() > 0) log.info('Integrity manifest not updated (read-only check); run security-check --update-hashes to record the current files');
    if (checks.findings === 0) log.success('Security check finished: no issues');
    else log.warning(`Security check finished: ${checks.findings} issue(s)`);
    return exitCode.current;
  }
}

/** --update-hashes: under the run lock, the differences as T3 lines, the manifest written, T4. */
async function recordHashes(checks: SecurityChecks, baseDir: string, log: RunLog): Promise<ExitStatus> {
  const lock = acquireRunLock(baseDir, esc);
  if (!lock.ok) {
    log.error(lock.error);
    return 2;
  }
  try {
    for (const note of lock.notes) log.log(note.level, note.message);
    checks.walk();
    await checks.checkIntegrity('record');
    const manifest = esc(checks.manifestPath);
    if (checks.manifestState === 'irregular') {
      log.error(`Cannot write integrity manifest ${manifest}: not a regular file`);
      return 2;
    }
    const written = writeManifest(baseDir, checks.manifestText());
    if (!written.ok) {
      log.error(`Cannot write integrity manifest ${manifest}: ${written.reason}`);
      return 2;
    }
    const count = readFileSync(checks.manifestPath, 'utf8').split('\n').length - 1;
    log.success(`Integrity manifest written: ${manifest} (${count} files)`);
    return checks.findings > 0 ? 1 : 0;
  } finally {
    lock.lock.release();
  }
}
