// `switch-mode security-check` on the ts side (security.md §6): the checks of the gate on demand, the same
// options, lines, and exit codes as legacy/bin/security-check. bin/switch-mode routes here when the `cli` flag
// is ts; with cli=bash or without node the legacy tool runs.
import { readFileSync } from 'node:fs';
import { escBytes } from '../../core/esc.js';
import type { ExitStatus } from '../../core/exit-code.js';
import type { RunLog } from '../../core/log.js';
import { detectNames } from '../../backup/detect.js';
import { SecurityChecks } from '../../security/checks.js';
import { writeManifest } from '../../security/manifest.js';
import type { CliEnvironment } from '../environment.js';
import { answerUsage, openTool, parseToolArgs, underRunLock } from '../side-tool.js';

const esc = (text: string): string => escBytes(Buffer.from(text, 'utf8'));

export async function runSecurityCheck(environment: CliEnvironment, args: readonly string[]): Promise<ExitStatus> {
  let full: boolean | undefined;
  let update = false;
  const parsed = parseToolArgs(args, (arg) => {
    if (arg === '--full') full = true;
    else if (arg === '--basic' || arg === '--script-check') full = false;
    else if (arg === '--update-hashes') update = true;
    else return false;
    return true;
  });
  if (typeof parsed === 'string' || parsed.help) return answerUsage(environment.codeDir, 'security-check', parsed);
  const { baseDir, env } = environment;
  const tool = openTool(environment, parsed);
  if (tool === undefined) return 2;
  const { configFile, config, log, exitCode } = tool;
  if (config.SYSTEM_ROOT_PREFIX === '/' && process.geteuid?.() !== 0) {
    process.stderr.write('ERROR: This tool must run as root\n');
    return 2;
  }
  const { hostname } = await detectNames(env);
  const checks = new SecurityChecks({ baseDir, configFile, log, env, config, hostname, uid: process.geteuid?.() ?? 0 });
  if (update) return underRunLock(environment, log, false, async () => recordHashes(checks, baseDir, log));
  {
    const checkAll = full ?? config.FULL_SECURITY_CHECK;
    log.step(`Security checks (${checkAll ? 'full' : 'basic'})`);
    if (config.REMOVE_UNAUTHORIZED_FILES) log.info('REMOVE_UNAUTHORIZED_FILES is ignored: unexpected files are reported, never deleted');
    await checks.all(checkAll);
    if (checks.differences() > 0) log.info('Integrity manifest not updated (read-only check); run security-check --update-hashes to record the current files');
    if (checks.findings === 0) log.success('Security check finished: no issues');
    else log.warning(`Security check finished: ${checks.findings} issue(s)`);
    return exitCode.current;
  }
}

/** --update-hashes (under the run lock): the differences as T3 lines, the manifest written, T4. */
async function recordHashes(checks: SecurityChecks, baseDir: string, log: RunLog): Promise<ExitStatus> {
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
}
