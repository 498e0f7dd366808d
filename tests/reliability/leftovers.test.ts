// Leftovers of a crashed run (issue 14 §2; run.md §7, decision 24): the next run of this installation removes
// its dead runs' directories and this host's .tmp files in the tiers, one INFO line each, on both sides — and
// never touches another installation's run, a live run, anything without the marker, or another host's files.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { describe, expect, it } from 'vitest';
import { processStart } from '../../native/core/lock.js';
import { hostEnv, logOf, makeSandbox, REPO, runLegacy, type Sandbox } from '../legacy/run.js';

const HOST = 'pve1.lab.example';

/** A PID that is no process now. */
function deadPid(): number {
  const pid = execaSync('bash', ['-c', 'echo $$']).stdout;
  return Number(pid);
}

interface Planted { readonly removed: string[]; readonly kept: string[] }

function runDir(sandbox: Sandbox, name: string, owner?: { base: string; pid: number; start: string }): string {
  const dir = join(sandbox.baseDir, 'tmp', name);
  mkdirSync(join(dir, 'staging', 'etc', 'pve', 'priv'), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'staging', 'etc', 'pve', 'priv', 'authkey.key'), 'PRIVATE\n', { mode: 0o600 });
  if (owner !== undefined) writeFileSync(join(dir, 'owner'), `base_dir=${owner.base}\npid=${owner.pid}\nstart=${owner.start}\n`);
  return dir;
}

function plant(sandbox: Sandbox, secondary: string): Planted {
  const base = sandbox.baseDir;
  const dead = deadPid();
  const removed = [
    runDir(sandbox, 'proxmox-backup-run.DEAD01', { base, pid: dead, start: '1' }),
    runDir(sandbox, 'proxmox-backup-run.REUSED', { base, pid: process.pid, start: '1' }),   // the PID is another process now
    runDir(sandbox, 'proxmox-backup-shadow.DEAD02', { base, pid: dead, start: '1' }),
  ];
  const kept = [
    runDir(sandbox, 'proxmox-backup-run.OTHERB', { base: `${base}-other`, pid: dead, start: '1' }),   // another installation
    runDir(sandbox, 'proxmox-backup-run.ALIVE1', { base, pid: process.pid, start: processStart(process.pid) }),   // a live run
    runDir(sandbox, 'proxmox-backup-run.NOOWNR'),   // no marker
    runDir(sandbox, 'unrelated-dir'),
  ];
  mkdirSync(sandbox.backupDir, { recursive: true });
  mkdirSync(secondary, { recursive: true });
  mkdirSync(sandbox.logDir, { recursive: true });
  const log = join(sandbox.logDir, `pve-backup-${HOST}-2024-11-24_02-00-00.log.tmp`);
  writeFileSync(log, 'partial');
  removed.push(log);
  for (const dir of [sandbox.backupDir, secondary]) {
    for (const name of [`pve-backup-${HOST}-2024-11-24_02-00-00.tar.zst.tmp`, `pve-backup-${HOST}-2024-11-24_02-00-00.tar.zst.sha256.tmp`]) {
      writeFileSync(join(dir, name), 'partial');
      removed.push(join(dir, name));
    }
    for (const name of ['pve-backup-pve2.lab.example-2024-11-24_02-00-00.tar.zst.tmp', 'notes.tmp', `pve-backup-${HOST}-2024-11-24_02-00-00.tar.zst`]) {
      writeFileSync(join(dir, name), 'other');
      kept.push(join(dir, name));
    }
  }
  return { removed, kept };
}

async function run(side: 'bash' | 'ts', sandbox: Sandbox, args: string[]): Promise<string> {
  if (side === 'bash') {
    const result = await runLegacy('pve-single', sandbox, args);
    expect(result.exitCode).toBeLessThan(2);
    return `${logOf(sandbox)}\n${String(result.stdout)}`;
  }
  const result = await execa(join(REPO, 'bin', 'switch-mode'), ['run-backup', ...args, '--flag', 'orchestrator=ts', '--flag', 'backup=ts'], {
    env: hostEnv('pve-single', sandbox), extendEnv: false, reject: false, timeout: 200_000,
  });
  expect(result.exitCode).toBeLessThan(2);
  return `${logOf(sandbox)}\n${String(result.stdout)}`;
}

describe.each(['bash', 'ts'] as const)('%s', (side) => {
  it('removes this installation\'s dead runs and this host\'s tier .tmp files, one INFO line each, nothing else', async () => {
    const sandbox = makeSandbox({ ENABLE_SECONDARY_BACKUP: 'true', SECONDARY_BACKUP_PATH: '${BASE_DIR}/secondary', SECONDARY_LOG_PATH: '${BASE_DIR}/secondary-log' });
    const planted = plant(sandbox, join(sandbox.baseDir, 'secondary'));
    const log = await run(side, sandbox, []);
    for (const path of planted.removed) {
      expect(log).toContain(`[INFO] Removed leftover of an interrupted run: ${path}`);
      expect(existsSync(path)).toBe(false);
    }
    for (const path of planted.kept) {
      expect(log.split('\n').filter((line) => line.endsWith(`leftover of an interrupted run: ${path}`))).toEqual([]);
      expect(existsSync(path)).toBe(true);
    }
  }, 150_000);

  it('dry-run names them and removes nothing', async () => {
    const sandbox = makeSandbox({ ENABLE_SECONDARY_BACKUP: 'true', SECONDARY_BACKUP_PATH: '${BASE_DIR}/secondary', SECONDARY_LOG_PATH: '${BASE_DIR}/secondary-log' });
    const planted = plant(sandbox, join(sandbox.baseDir, 'secondary'));
    const log = await run(side, sandbox, ['--dry-run']);
    for (const path of planted.removed) {
      expect(log).toContain(`[INFO] Would remove leftover of an interrupted run: ${path}`);
      expect(existsSync(path)).toBe(true);
    }
  }, 150_000);
});

describe('the tools that take the lock', () => {
  it('security-check --update-hashes removes a dead run directory too', async () => {
    const sandbox = makeSandbox();
    const dead = runDir(sandbox, 'proxmox-backup-run.DEAD03', { base: sandbox.baseDir, pid: deadPid(), start: '1' });
    const result = await execa(join(REPO, 'legacy', 'bin', 'security-check'), ['--update-hashes'], {
      env: hostEnv('pve-single', sandbox), extendEnv: false, reject: false, timeout: 200_000,
    });
    expect(`${String(result.stdout)}${String(result.stderr)}`).toContain(`Removed leftover of an interrupted run: ${dead}`);
    expect(existsSync(dead)).toBe(false);
  }, 90_000);
});
