// security_gate (phase 7, security.md §2, §3.5): checks A-G, the manifest recorded by the first matching row of
// §3.5, the outcome line and the state keys — the native twin of legacy/lib/security.sh's security_gate.
import type { ExitStatus } from '../core/exit-code.js';
import { escBytes } from '../core/esc.js';
import type { NativeStageContext } from '../core/stage.js';
import { SecurityChecks } from './checks.js';
import { writeManifest } from './manifest.js';

export async function securityGate(context: NativeStageContext): Promise<ExitStatus> {
  const { log, env, shadow, config, facts, state } = context;
  const full = config.FULL_SECURITY_CHECK;
  const mode = full ? 'full' : 'basic';
  const abort = config.ABORT_ON_SECURITY_ISSUES;
  // In shadow the candidate checks the real installation, and reads and writes the manifest in its scratch copy of config/.
  const installation = (shadow === true && context.shadowOriginal('BASE_DIR')) || facts.BASE_DIR;
  const checks = new SecurityChecks({
    baseDir: installation, manifestDir: facts.BASE_DIR, configFile: facts.CONFIG_FILE, log, env, config,
    hostname: facts.HOSTNAME || 'localhost', uid: process.geteuid?.() ?? 0,
  });
  log.step(`Security checks (${mode})`);
  if (config.REMOVE_UNAUTHORIZED_FILES) log.info('REMOVE_UNAUTHORIZED_FILES is ignored: unexpected files are reported, never deleted');
  await checks.all(full);
  const result = record(checks, { context, aborting: checks.findings > 0 && abort });
  let status: ExitStatus = 0;
  if (checks.findings === 0) {
    log.success('Security checks passed');
  } else if (abort) {
    log.error(`Security checks found ${checks.findings} issue(s); aborting (ABORT_ON_SECURITY_ISSUES=true)`);
    status = 2;
  } else {
    log.warning(`Security checks found ${checks.findings} issue(s); continuing (ABORT_ON_SECURITY_ISSUES=false)`);
    status = 1;
  }
  const keys: [string, string | number][] = [
    ['STATUS_SECURITY', status], ['SECURITY_MODE', mode], ['SECURITY_FINDINGS', checks.findings],
    ['SECURITY_INTEGRITY_FILES', checks.integrityFiles], ['SECURITY_INTEGRITY_CHANGED', checks.changed.length],
    ['SECURITY_INTEGRITY_ADDED', checks.added.length], ['SECURITY_INTEGRITY_MISSING', checks.missing.length],
    ['SECURITY_MANIFEST', result], ['SECURITY_PERMISSION_ISSUES', checks.permissionIssues],
    ['SECURITY_PROCESS_ISSUES', checks.processIssues], ['SECURITY_FIREWALL_RULES', checks.firewallRules],
    ['SECURITY_PORT_ISSUES', checks.portIssues],
  ];
  for (const [key, v] of keys) state.set(key, String(v));
  return status;
}

interface RecordOptions {
  readonly context: NativeStageContext;
  readonly aborting: boolean;
}

/** §3.5: the first matching row; the SECURITY_MANIFEST value. */
function record(checks: SecurityChecks, { context, aborting }: RecordOptions): string {
  const { config, facts, log } = context;
  const unchanged = checks.manifestState === 'present' ? 'stale' : 'missing';
  const path = escBytes(Buffer.from(checks.manifestPath, 'utf8'));
  if (checks.differences() === 0) return 'verified';
  if (!config.AUTO_UPDATE_HASHES) {
    log.info('Integrity manifest not updated (AUTO_UPDATE_HASHES=false); review the changes, then run security-check --update-hashes');
    return unchanged;
  }
  if (facts.DRY_RUN) {
    log.info('Dry run: would update integrity manifest');
    return unchanged;
  }
  if (aborting) {
    log.info('Integrity manifest not updated: run aborted (ABORT_ON_SECURITY_ISSUES=true)');
    return unchanged;
  }
  const fail = (reason: string): string => {
    checks.findings += 1;
    log.warning(`Cannot write integrity manifest ${path}: ${reason}`);
    return unchanged;
  };
  if (checks.manifestState === 'irregular') return fail('not a regular file');
  const written = writeManifest(facts.BASE_DIR, checks.manifestText());
  if (!written.ok) return fail(written.reason);
  if (checks.manifestState === 'absent') {
    log.info(`Integrity manifest created: ${checks.integrityFiles} files`);
    return 'created';
  }
  log.info(`Integrity manifest updated (AUTO_UPDATE_HASHES=true): ${checks.changed.length} changed, ${checks.added.length} added, ${checks.missing.length} missing`);
  return 'updated';
}
