// security_gate (phase 7, security.md §2, §3.5): checks A-G, the manifest recorded by the first matching row of
// §3.5, the outcome line and the state keys — the native twin of legacy/lib/security.sh's security_gate.
import type { ExitStatus } from '../core/exit-code.js';
import { escBytes } from '../core/esc.js';
import { StageInputs } from '../core/stage-inputs.js';
import type { NativeStageContext } from '../core/stage.js';
import { SecurityChecks } from './checks.js';
import { writeManifest } from './manifest.js';

export async function securityGate({ runDir, log, env, shadow }: NativeStageContext): Promise<ExitStatus> {
  const inputs = new StageInputs(runDir);
  const value = (key: string): string => inputs.get(key);
  const full = value('FULL_SECURITY_CHECK') === 'true';
  const mode = full ? 'full' : 'basic';
  const abort = value('ABORT_ON_SECURITY_ISSUES') === 'true';
  // In shadow the candidate checks the real installation, and reads and writes the manifest in its scratch copy of config/.
  const installation = shadow === true && inputs.has('SHADOW_ORIG_BASE_DIR') ? value('SHADOW_ORIG_BASE_DIR') : value('BASE_DIR');
  const checks = new SecurityChecks({
    baseDir: installation, manifestDir: value('BASE_DIR'), configFile: value('CONFIG_FILE'), log, env, value,
    hostname: value('HOSTNAME') || 'localhost', uid: process.geteuid?.() ?? 0,
  });
  log.step(`Security checks (${mode})`);
  if (value('REMOVE_UNAUTHORIZED_FILES') === 'true') log.info('REMOVE_UNAUTHORIZED_FILES is ignored: unexpected files are reported, never deleted');
  await checks.all(full);
  const result = record(checks, { value, aborting: checks.findings > 0 && abort, log });
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
  const state: [string, string | number][] = [
    ['STATUS_SECURITY', status], ['SECURITY_MODE', mode], ['SECURITY_FINDINGS', checks.findings],
    ['SECURITY_INTEGRITY_FILES', checks.integrityFiles], ['SECURITY_INTEGRITY_CHANGED', checks.changed.length],
    ['SECURITY_INTEGRITY_ADDED', checks.added.length], ['SECURITY_INTEGRITY_MISSING', checks.missing.length],
    ['SECURITY_MANIFEST', result], ['SECURITY_PERMISSION_ISSUES', checks.permissionIssues],
    ['SECURITY_PROCESS_ISSUES', checks.processIssues], ['SECURITY_FIREWALL_RULES', checks.firewallRules],
    ['SECURITY_PORT_ISSUES', checks.portIssues],
  ];
  for (const [key, v] of state) runDir.setState(key, String(v));
  return status;
}

interface RecordOptions {
  readonly value: (key: string) => string;
  readonly aborting: boolean;
  readonly log: NativeStageContext['log'];
}

/** §3.5: the first matching row; the SECURITY_MANIFEST value. */
function record(checks: SecurityChecks, { value, aborting, log }: RecordOptions): string {
  const unchanged = checks.manifestState === 'present' ? 'stale' : 'missing';
  const path = escBytes(Buffer.from(checks.manifestPath, 'utf8'));
  if (checks.differences() === 0) return 'verified';
  if (value('AUTO_UPDATE_HASHES') !== 'true') {
    log.info('Integrity manifest not updated (AUTO_UPDATE_HASHES=false); review the changes, then run security-check --update-hashes');
    return unchanged;
  }
  if (value('DRY_RUN') === 'true') {
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
  const written = writeManifest(value('BASE_DIR'), checks.manifestText());
  if (!written.ok) return fail(written.reason);
  if (checks.manifestState === 'absent') {
    log.info(`Integrity manifest created: ${checks.integrityFiles} files`);
    return 'created';
  }
  log.info(`Integrity manifest updated (AUTO_UPDATE_HASHES=true): ${checks.changed.length} changed, ${checks.added.length} added, ${checks.missing.length} missing`);
  return 'updated';
}
