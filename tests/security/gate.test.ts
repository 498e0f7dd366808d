// The security gate of a run (phase 7, security.md §2, §3.5; test scenarios 2, 3, 5, 9, 10), through both
// orchestrators: the legacy pipeline and the TS orchestrator (which runs the gate's stage through its shim). A
// first run of each side is a whole backup; the runs after it are --check-only (phases 0-8: the same gate, the
// same lines, state and manifest writes, without collecting and archiving what the case is not about).
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { describe, expect, it } from 'vitest';
import { parseEnvFile } from '../../native/core/state-env.js';
import { hostEnv, logOf, makeSandbox, REPO, runLegacy, type Sandbox } from '../legacy/run.js';

type Side = 'bash' | 'ts';

async function run(side: Side, sandbox: Sandbox, args: string[] = []): Promise<{ exitCode: number; state: Map<string, string> }> {
  const env = hostEnv('pve-single', sandbox, { PBK_KEEP_RUN_DIR: '1' });
  const result = side === 'bash'
    ? await runLegacy('pve-single', sandbox, args, { PBK_KEEP_RUN_DIR: '1' })
    : await execa(join(REPO, 'bin', 'switch-mode'), ['run-backup', ...args, '--flag', 'orchestrator=ts'], { env, extendEnv: false, reject: false });
  const kept = /Run directory kept \(PBK_KEEP_RUN_DIR=1\): (.+)/.exec(String(result.stderr))?.[1];
  const state = kept === undefined ? new Map<string, string>() : parseEnvFile(readFileSync(join(kept, 'state.env'), 'utf8'));
  if (kept !== undefined) rmSync(kept, { recursive: true, force: true });
  return { exitCode: result.exitCode ?? 2, state };
}

const gateLines = (sandbox: Sandbox): string[] => {
  const lines = logOf(sandbox).split('\n').map((l) => l.replace(/^\S+ \S+ /, ''));
  const start = lines.indexOf('[STEP] Security checks (full)');
  const end = lines.findIndex((l, i) => i > start && /^\[(SUCCESS|WARNING|ERROR)\] Security checks (passed|found)/.test(l));
  return lines.slice(start, end + 1);
};

const manifest = (sandbox: Sandbox): string => readFileSync(join(sandbox.baseDir, 'config', 'integrity.sha256'), 'utf8');

function editConfig(sandbox: Sandbox, line: string): void {
  appendFileSync(sandbox.configPath, `${line}\n`);   // an edit without security-check --update-hashes
}

function clearLogs(sandbox: Sandbox): void {
  for (const dir of [sandbox.logDir, sandbox.backupDir]) if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}

describe.each(['bash', 'ts'] as const)('the gate through the %s orchestrator', (side) => {
  it('a clean installation passes; an edit of backup.env is reported once and recorded (scenario 2)', async () => {
    const sandbox = makeSandbox();
    const clean = await run(side, sandbox);
    expect(clean.exitCode).toBe(0);
    expect(gateLines(sandbox)).toEqual(['[STEP] Security checks (full)', '[INFO] Integrity manifest verified: 1 files',
      '[INFO] Process check: 18 processes, none suspicious', '[SKIP] Network checks disabled (CHECK_NETWORK_SECURITY=false)',
      '[SUCCESS] Security checks passed']);
    expect(clean.state.get('SECURITY_MANIFEST')).toBe('verified');
    editConfig(sandbox, 'MAX_LOCAL_BACKUPS="15"');
    clearLogs(sandbox);
    const changed = await run(side, sandbox, ['--check-only']);
    expect(changed.exitCode).toBe(1);
    expect(gateLines(sandbox)).toEqual(['[STEP] Security checks (full)', '[WARNING] Integrity: file changed: env/backup.env',
      '[INFO] Process check: 18 processes, none suspicious', '[SKIP] Network checks disabled (CHECK_NETWORK_SECURITY=false)',
      '[INFO] Integrity manifest updated (AUTO_UPDATE_HASHES=true): 1 changed, 0 added, 0 missing',
      '[WARNING] Security checks found 1 issue(s); continuing (ABORT_ON_SECURITY_ISSUES=false)']);
    expect(Object.fromEntries([...changed.state].filter(([k]) => k.startsWith('SECURITY_') || k === 'STATUS_SECURITY'))).toMatchObject({
      STATUS_SECURITY: '1', SECURITY_MODE: 'full', SECURITY_FINDINGS: '1', SECURITY_INTEGRITY_CHANGED: '1', SECURITY_MANIFEST: 'updated' });
    expect(execFileOk('sha256sum', ['-c', '--quiet', 'config/integrity.sha256'], sandbox.baseDir)).toBe(true);
    clearLogs(sandbox);
    expect((await run(side, sandbox, ['--check-only'])).exitCode).toBe(0);
  });

  it('AUTO_UPDATE_HASHES=false reports on every run and writes nothing (3); a missing manifest (5)', async () => {
    const sandbox = makeSandbox({ AUTO_UPDATE_HASHES: 'false' });
    editConfig(sandbox, 'MAX_LOCAL_BACKUPS="15"');
    const before = manifest(sandbox);
    for (let i = 0; i < 2; i += 1) {
      clearLogs(sandbox);
      expect((await run(side, sandbox, ['--check-only'])).exitCode).toBe(1);
      expect(gateLines(sandbox)).toContain('[INFO] Integrity manifest not updated (AUTO_UPDATE_HASHES=false); review the changes, then run security-check --update-hashes');
    }
    expect(manifest(sandbox)).toBe(before);
    rmSync(join(sandbox.baseDir, 'config', 'integrity.sha256'));
    clearLogs(sandbox);
    const missing = await run(side, sandbox, ['--check-only']);
    expect(missing.state.get('SECURITY_MANIFEST')).toBe('missing');
    expect(gateLines(sandbox)[1]).toBe(`[WARNING] Integrity manifest not found: ${sandbox.baseDir}/config/integrity.sha256`);
    expect(existsSync(join(sandbox.baseDir, 'config', 'integrity.sha256'))).toBe(false);
  });

  it('ABORT_ON_SECURITY_ISSUES=true: exit 2 before collection, manifest kept, notification and metrics still run (9)', async () => {
    const sandbox = makeSandbox({ ABORT_ON_SECURITY_ISSUES: 'true', PROMETHEUS_ENABLED: 'true', PROMETHEUS_TEXTFILE_DIR: '${BASE_DIR}/metrics' });
    editConfig(sandbox, 'MAX_LOCAL_BACKUPS="15"');
    const before = manifest(sandbox);
    const result = await run(side, sandbox);
    expect(result.exitCode).toBe(2);
    expect(gateLines(sandbox).slice(-2)).toEqual(['[INFO] Integrity manifest not updated: run aborted (ABORT_ON_SECURITY_ISSUES=true)',
      '[ERROR] Security checks found 1 issue(s); aborting (ABORT_ON_SECURITY_ISSUES=true)']);
    expect(logOf(sandbox)).not.toContain('Checking dependencies');
    expect(logOf(sandbox)).not.toContain('Collecting configuration files');
    expect(existsSync(sandbox.backupDir) ? readdirSync(sandbox.backupDir) : []).toEqual([]);
    expect(manifest(sandbox)).toBe(before);
    expect(result.state.get('STATUS_SECURITY')).toBe('2');
    expect(readFileSync(join(sandbox.baseDir, 'metrics', 'proxmox_backup.prom'), 'utf8')).toMatch(/^proxmox_backup_exit_code\S* 2$/m);
  });

  it('dry-run with a change: the manifest is not rewritten (10)', async () => {
    const sandbox = makeSandbox();
    editConfig(sandbox, 'MAX_LOCAL_BACKUPS="15"');
    const before = manifest(sandbox);
    const result = await run(side, sandbox, ['--dry-run']);
    expect(result.exitCode).toBe(1);
    expect(gateLines(sandbox)).toContain('[INFO] Dry run: would update integrity manifest');
    expect(manifest(sandbox)).toBe(before);
    expect(result.state.get('SECURITY_MANIFEST')).toBe('stale');
  });
});

function execFileOk(file: string, args: string[], cwd: string): boolean {
  try {
    execaSync(file, args, { cwd });
    return true;
  } catch {
    return false;
  }
}
