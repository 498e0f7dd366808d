// The storage domain of the legacy pipeline (storage.md §12) against real components: a secondary directory
// and an rclone WebDAV server on loopback for the cloud tier. Each tier is checked as an operator would:
// listing the files, and `sha256sum -c` on the sets in it.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendConfig, logOf, makeSandbox, REPO, runLegacy, type Sandbox } from '../legacy/run.js';
import { startWebDav, type WebDav } from './webdav.js';

const DAY = 86_400;
const T0 = 1732500000;   // 2024-11-25 02:00:00 UTC
const PREFIX = 'pve-backup-pve1.lab.example-';

function tierConfig(sandbox: Sandbox, extra: Record<string, string> = {}): Sandbox {
  const lines = {
    ENABLE_SECONDARY_BACKUP: 'true', SECONDARY_BACKUP_PATH: '${BASE_DIR}/secondary/backup', SECONDARY_LOG_PATH: '${BASE_DIR}/secondary/log',
    ENABLE_CLOUD_BACKUP: 'true', RCLONE_REMOTE: 'cloud', CLOUD_BACKUP_PATH: '/backup', CLOUD_LOG_PATH: '/log',
    CLOUD_CONNECTIVITY_TIMEOUT: '5', SET_BACKUP_PERMISSIONS: 'false', ...extra,
  };
  return appendConfig(sandbox, lines);
}

const archives = (dir: string): string[] => readdirSync(dir).filter((n) => /\.tar(\.[a-z0-9]+)?$/.test(n)).sort();

async function checksumsHold(dir: string, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const result = await execa('sha256sum', ['-c', `${name}.sha256`], { cwd: dir, reject: false });
    expect(result.exitCode, `${dir}/${name}: ${result.stdout}${result.stderr}`).toBe(0);
  }
}

/** Seeds one set (archive + .sha256 + .metadata) with a valid checksum, named for the given epoch. */
function seedSet(dir: string, epoch: number, prefix = PREFIX, mtime?: number): string {
  mkdirSync(dir, { recursive: true });
  const stamp = new Date(epoch * 1000).toISOString().replace('T', '_').replace(/:/g, '-').slice(0, 19);
  const name = `${prefix}${stamp}.tar.zst`;
  // modes as the tool leaves them (archive 0600, sidecars 0640): a seed readable by others is a security finding
  writeFileSync(join(dir, name), `seeded ${stamp}\n`, { mode: 0o600 });
  const hash = createHash('sha256').update(readFileSync(join(dir, name))).digest('hex');   // independent of the tools under test
  writeFileSync(join(dir, `${name}.sha256`), `${hash}  ${name}\n`, { mode: 0o640 });
  writeFileSync(join(dir, `${name}.metadata`), `TIMESTAMP=${stamp}\n`, { mode: 0o640 });
  if (mtime !== undefined) for (const f of [name, `${name}.sha256`, `${name}.metadata`]) utimesSync(join(dir, f), mtime, mtime);
  return name;
}

let webdav: WebDav;
let cloudDir: string;
beforeAll(async () => {
  const holder = makeSandbox();
  cloudDir = join(holder.baseDir, 'cloud');
  webdav = await startWebDav(cloudDir, holder.baseDir);
});
afterAll(async () => {
  await webdav.stop();
});

function cloudSubdir(name: string): string {
  return join(cloudDir, name);
}

describe('three tiers (storage.md §12.1, §12.2, §12.14)', () => {
  it('three runs a day apart with MAX=2: two verified sets in every tier, foreign files untouched', async () => {
    const sandbox = tierConfig(makeSandbox({
      MAX_LOCAL_BACKUPS: '2', MAX_SECONDARY_BACKUPS: '2', MAX_CLOUD_BACKUPS: '2',
      MAX_LOCAL_LOGS: '2', MAX_SECONDARY_LOGS: '2', MAX_CLOUD_LOGS: '2',
    }), { CLOUD_BACKUP_PATH: '/three/backup', CLOUD_LOG_PATH: '/three/log' });
    const secondary = join(sandbox.baseDir, 'secondary', 'backup');
    const foreign = seedSet(secondary, T0 - 30 * DAY, 'pve-backup-other.lab.example-');
    mkdirSync(secondary, { recursive: true });
    writeFileSync(join(secondary, 'notes.txt'), 'keep me\n');
    writeFileSync(join(secondary, `${PREFIX}garbage.tar.zst`), 'unparsable name\n');
    for (const day of [0, 1, 2]) {
      const result = await runLegacy('pve-single', sandbox, [], { PBK_NOW: String(T0 + day * DAY), RCLONE_CONFIG: webdav.configPath });
      expect(result.exitCode, String(result.stdout)).toBe(0);
    }
    const cloud = cloudSubdir(join('three', 'backup'));
    for (const dir of [sandbox.backupDir, secondary, cloud]) {
      const mine = archives(dir).filter((n) => n.startsWith(PREFIX) && !n.includes('garbage'));
      expect(mine, dir).toEqual([`${PREFIX}2024-11-26_02-00-00.tar.zst`, `${PREFIX}2024-11-27_02-00-00.tar.zst`]);
      await checksumsHold(dir, mine);
    }
    expect(readdirSync(secondary)).toEqual(expect.arrayContaining([foreign, `${foreign}.sha256`, 'notes.txt', `${PREFIX}garbage.tar.zst`]));
    expect(readFileSync(join(secondary, 'notes.txt'), 'utf8')).toBe('keep me\n');
    const log = logOf(sandbox);
    expect(log).toContain('[SUCCESS] Cloud upload verified (3 files)');
    expect(log).toContain('[INFO] Cloud backend has no SHA-256; verified by size');   // WebDAV "other"
    expect(log).toContain('[SUCCESS] Backup consistent across 3 tier(s)');
    expect(log).toContain('[INFO] BACKUP = PRI ✅ - SEC ✅ - CLO ✅');
    for (const dir of [sandbox.logDir, join(sandbox.baseDir, 'secondary', 'log'), cloudSubdir(join('three', 'log'))]) {
      expect(readdirSync(dir).filter((n) => n.endsWith('.log')), dir).toHaveLength(2);
    }
    const mode = statSync(join(secondary, `${PREFIX}2024-11-27_02-00-00.tar.zst`)).mode & 0o777;
    expect(mode).toBe(0o600);
  });

  it('rotates by the timestamp in the name, never by mtime (§12.3), and keeps everything with MAX=0 (§12.5)', async () => {
    const sandbox = tierConfig(makeSandbox({ MAX_LOCAL_BACKUPS: '2' }), { ENABLE_CLOUD_BACKUP: 'false', ENABLE_SECONDARY_BACKUP: 'false' });
    const old = seedSet(sandbox.backupDir, T0 - 2 * DAY, PREFIX, T0);            // oldest name, newest mtime
    const newer = seedSet(sandbox.backupDir, T0 - DAY, PREFIX, T0 - 10 * DAY);
    expect((await runLegacy('pve-single', sandbox)).exitCode).toBe(0);
    expect(archives(sandbox.backupDir)).toEqual([newer, `${PREFIX}2024-11-25_02-00-00.tar.zst`]);
    expect(logOf(sandbox)).toContain(`[INFO] Deleted ${old}`);

    const keepAll = tierConfig(makeSandbox({ MAX_LOCAL_BACKUPS: '0' }), { ENABLE_CLOUD_BACKUP: 'false', ENABLE_SECONDARY_BACKUP: 'false' });
    for (const d of [1, 2, 3]) seedSet(keepAll.backupDir, T0 - d * DAY);
    expect((await runLegacy('pve-single', keepAll)).exitCode).toBe(0);
    expect(archives(keepAll.backupDir)).toHaveLength(4);
  });
});

describe('retention counts verified backups only (decision 22, storage.md §4 item 1)', () => {
  it('a newer set without its .sha256 is neither counted nor deleted, the older verified one is kept, in every tier', async () => {
    const sandbox = tierConfig(makeSandbox({ MAX_LOCAL_BACKUPS: '2', MAX_SECONDARY_BACKUPS: '2', MAX_CLOUD_BACKUPS: '2' }),
      { CLOUD_BACKUP_PATH: '/unverified/backup', CLOUD_LOG_PATH: '/unverified/log' });
    const secondary = join(sandbox.baseDir, 'secondary', 'backup');
    const cloud = cloudSubdir(join('unverified', 'backup'));
    const tiers = [['primary', sandbox.backupDir], ['secondary', secondary], ['cloud', cloud]] as const;
    let verified = '';
    let unverified = '';
    for (const [, dir] of tiers) {
      verified = seedSet(dir, T0 - 2 * DAY);
      unverified = seedSet(dir, T0 - DAY);
      rmSync(join(dir, `${unverified}.sha256`));   // an interrupted copy: the checksum never arrived
    }
    const result = await runLegacy('pve-single', sandbox, [], { PBK_NOW: String(T0), RCLONE_CONFIG: webdav.configPath });
    expect(result.exitCode, String(result.stdout)).toBe(1);   // the WARNINGs
    const current = `${PREFIX}2024-11-25_02-00-00.tar.zst`;
    const log = logOf(sandbox);
    for (const [tier, dir] of tiers) {
      expect(archives(dir), tier).toEqual([verified, unverified, current].sort());
      expect(readdirSync(dir), tier).toEqual(expect.arrayContaining([`${verified}.sha256`, `${unverified}.metadata`]));
      const warnings = log.split('\n').filter((l) => l.includes(`[WARNING] Unverified backup ${unverified} in ${tier} (no checksum): not counted by retention`));
      expect(warnings, tier).toHaveLength(1);
      expect(log, tier).toContain(`[INFO] Rotation ${tier}: 2 backups, keeping 2`);
      await checksumsHold(dir, [verified, current]);
    }
    expect(log).not.toContain('[INFO] Deleted ');
  });
});

describe('GFS retention (storage.md §5 worked example, §12.4)', () => {
  it('keeps exactly #1, 2, 4, 7, 9, 11 and the new set', async () => {
    const stamps = ['2026-03-10_02-00-00', '2026-03-09_14-00-00', '2026-03-09_02-00-00', '2026-03-08_02-00-00',
      '2026-03-07_02-00-00', '2026-03-01_02-00-00', '2026-02-28_02-00-00', '2026-02-15_02-00-00', '2026-01-31_02-00-00',
      '2026-01-05_02-00-00', '2025-12-31_02-00-00', '2025-12-20_02-00-00', '2025-06-30_02-00-00', '2024-12-31_02-00-00',
      '2024-06-01_02-00-00'];
    const sandbox = tierConfig(makeSandbox({ RETENTION_DAILY: '3', RETENTION_WEEKLY: '2', RETENTION_MONTHLY: '3', RETENTION_YEARLY: '2' }),
      { ENABLE_CLOUD_BACKUP: 'false' });
    const secondary = join(sandbox.baseDir, 'secondary', 'backup');
    for (const dir of [sandbox.backupDir, secondary]) {
      for (const stamp of stamps) seedSet(dir, Date.parse(`${stamp.slice(0, 10)}T${stamp.slice(11).replace(/-/g, ':')}Z`) / 1000);
    }
    const now = String(Date.parse('2026-03-11T02:00:00Z') / 1000);
    const result = await runLegacy('pve-single', sandbox, [], { PBK_NOW: now });
    expect(result.exitCode, String(result.stdout)).toBe(0);
    const kept = [1, 2, 4, 7, 9, 11].map((i) => `${PREFIX}${stamps[i - 1] ?? ''}.tar.zst`);
    for (const dir of [sandbox.backupDir, secondary]) {
      expect(archives(dir)).toEqual([...kept, `${PREFIX}2026-03-11_02-00-00.tar.zst`].sort());
      expect(readdirSync(dir).filter((n) => n.endsWith('.sha256'))).toHaveLength(7);
    }
    expect(logOf(sandbox)).toContain('[INFO] Rotation primary: GFS d=3 w=2 m=3 y=2');
  });
});

describe('failures are warnings (storage.md §12.6-9, decision 2)', () => {
  it('dry-run with overflow deletes and copies nothing, and says what it would delete', async () => {
    const sandbox = tierConfig(makeSandbox({ MAX_LOCAL_BACKUPS: '1' }), { ENABLE_CLOUD_BACKUP: 'false' });
    const seeded = seedSet(sandbox.backupDir, T0 - DAY);
    const result = await runLegacy('pve-single', sandbox, ['--dry-run']);
    expect(result.exitCode).toBe(0);
    expect(readdirSync(sandbox.backupDir)).toEqual([seeded, `${seeded}.metadata`, `${seeded}.sha256`]);
    expect(logOf(sandbox)).toContain(`[INFO] Dry run: would delete ${seeded}`);
    expect(logOf(sandbox)).toMatch(/\[INFO\] Dry run: would copy the archive to secondary storage: /);
  });

  it('with the cloud server stopped: a WARNING, exit 1, primary and secondary complete', async () => {
    const sandbox = tierConfig(makeSandbox());
    const dir = join(sandbox.baseDir, 'down');
    const down = await startWebDav(dir, sandbox.baseDir);
    await down.stop();
    const result = await runLegacy('pve-single', sandbox, [], { RCLONE_CONFIG: down.configPath });
    expect(result.exitCode).toBe(1);
    expect(logOf(sandbox)).toMatch(/\[WARNING\] Cloud remote cloud unreachable: .*connection refused; cloud tier disabled for this run/);
    expect(archives(sandbox.backupDir)).toHaveLength(1);
    expect(archives(join(sandbox.baseDir, 'secondary', 'backup'))).toHaveLength(1);
    expect(logOf(sandbox)).toContain('[INFO] BACKUP = PRI ✅ - SEC ✅ - CLO ❌');
  });

  it('with the secondary path unwritable: a WARNING, exit 1, the cloud still uploaded', async () => {
    const sandbox = tierConfig(makeSandbox(), {
      SECONDARY_BACKUP_PATH: '/proc/pbk-test/backup', SECONDARY_LOG_PATH: '/proc/pbk-test/log',
      CLOUD_BACKUP_PATH: '/ro/backup', CLOUD_LOG_PATH: '/ro/log',
    });
    const result = await runLegacy('pve-single', sandbox, [], { RCLONE_CONFIG: webdav.configPath });
    expect(result.exitCode).toBe(1);
    expect(logOf(sandbox)).toMatch(/\[WARNING\] Secondary (copy failed for \S+|storage not writable)/);
    expect(archives(cloudSubdir(join('ro', 'backup')))).toHaveLength(1);
    expect(logOf(sandbox)).toContain('[INFO] BACKUP = PRI ✅ - SEC ❌ - CLO ✅');
  });

  it('after a verification error nothing is copied, uploaded or rotated; the tiers read skipped', async () => {
    const sandbox = tierConfig(makeSandbox({ MAX_LOCAL_BACKUPS: '1' }), { CLOUD_BACKUP_PATH: '/bad/backup', CLOUD_LOG_PATH: '/bad/log' });
    const seeded = seedSet(sandbox.backupDir, T0 - DAY);
    // A zstd that cannot decompress: the archive is written, then fails verification (phase 11 error).
    const fake = join(sandbox.baseDir, 'fakebin');
    mkdirSync(fake);
    writeFileSync(join(fake, 'zstd'), '#!/bin/sh\nfor a in "$@"; do case "$a" in -d*) echo "zstd: simulated corruption" >&2; exit 1;; esac; done\nexec /usr/bin/zstd "$@"\n');
    chmodSync(join(fake, 'zstd'), 0o755);
    const result = await runLegacy('pve-single', sandbox, [], {
      RCLONE_CONFIG: webdav.configPath, PATH: `${join(REPO, 'parity', 'hosts', 'pve-single', 'bin')}:${fake}:${process.env.PATH ?? ''}`,
    });
    expect(result.exitCode).toBe(2);
    const log = logOf(sandbox);
    expect(log).toContain('[ERROR] Backup verification failed');
    expect(log).toContain('[INFO] BACKUP = PRI ❌ - SEC ➖ - CLO ➖');
    expect(log).not.toContain('Storage: secondary copy');
    expect(readdirSync(sandbox.backupDir)).toContain(seeded);   // no rotation
    expect(readdirSync(cloudSubdir(join('bad', 'backup')))).toEqual([]);   // the connectivity test made the dir; nothing uploaded
  });
});

describe('the stage shim turns a shell error into an internal failure', () => {
  it('exits 70, never a status that could pass for a warning', async () => {
    const sandbox = makeSandbox();
    const check = await runLegacy('pve-single', sandbox, ['--check-only'], { PBK_KEEP_RUN_DIR: '1' });
    expect(check.exitCode).toBe(0);
    const tmp = join(sandbox.baseDir, 'tmp');
    const runDir = join(tmp, readdirSync(tmp)[0] ?? '');
    // Drop a key the stage reads without a default: `set -u` stops the function mid-way.
    const context = readFileSync(join(runDir, 'context.env'), 'utf8').split('\n').filter((l) => !l.startsWith('MAX_LOCAL_BACKUPS='))
      .map((l) => (l.startsWith('CHECK_ONLY=') ? "CHECK_ONLY='false'" : l)).join('\n');
    writeFileSync(join(runDir, 'context.env'), context);
    writeFileSync(join(runDir, 'state.env'), "STATUS_ARCHIVE='0'\nSTATUS_VERIFY='0'\nBACKUP_FILE='/nonexistent.tar.zst'\n");
    const result = await execa(join(REPO, 'shims', 'storage_run'), [runDir], { reject: false });
    expect(result.exitCode).toBe(70);
    expect(result.stderr).toContain('storage_run: internal failure (the stage ended before returning)');
  });
});

describe('permission step (storage.md §8, §12.13)', () => {
  it.runIf(process.getuid?.() === 0)('as root: backup:backup, archives 0600, sidecars and logs 0640, dirs 0750; other files untouched', async () => {
    const sandbox = tierConfig(makeSandbox(), { ENABLE_CLOUD_BACKUP: 'false', SET_BACKUP_PERMISSIONS: 'true' });
    mkdirSync(sandbox.backupDir, { recursive: true });
    writeFileSync(join(sandbox.backupDir, 'someone-else.txt'), 'x', { mode: 0o644 });
    expect((await runLegacy('pve-single', sandbox)).exitCode).toBe(0);
    const backupUid = Number(execaSyncId('-u'));
    for (const dir of [sandbox.backupDir, join(sandbox.baseDir, 'secondary', 'backup')]) {
      const name = archives(dir)[0] ?? '';
      expect(statSync(dir).mode & 0o777).toBe(0o750);
      expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, `${name}.sha256`)).mode & 0o777).toBe(0o640);
      expect(statSync(join(dir, name)).uid).toBe(backupUid);
    }
    expect(statSync(join(sandbox.backupDir, 'someone-else.txt')).mode & 0o777).toBe(0o644);
    for (const dir of [sandbox.logDir, join(sandbox.baseDir, 'secondary', 'log')]) {
      const log = readdirSync(dir).find((n) => n.endsWith('.log')) ?? '';
      expect(statSync(join(dir, log)).mode & 0o777).toBe(0o640);
    }
  });

  it.runIf(process.getuid?.() === 0)('logs each change once; a protected system directory keeps its own mode (security.md F1, F4)', async () => {
    const sandbox = tierConfig(makeSandbox({ LOCAL_LOG_PATH: '/var/tmp' }), { ENABLE_CLOUD_BACKUP: 'false', ENABLE_SECONDARY_BACKUP: 'false', SET_BACKUP_PERMISSIONS: 'true' });
    const before = statSync('/var/tmp').mode & 0o7777;
    const now = String(T0 + 4000 * DAY + Math.floor(Math.random() * 1000) * 60);   // a log name of its own in /var/tmp
    const result = await runLegacy('pve-single', sandbox, [], { PBK_NOW: now });
    // a world-writable log directory is a finding of the gate (security.md §4.3): the run warns, and goes on
    expect(result.exitCode).toBe(1);
    expect(String(result.stdout)).toContain('[WARNING] Writable by group or others: /var/tmp (mode 1777)');
    expect(String(result.stdout)).toContain('[INFO] Protected system directory left unchanged: /var/tmp');
    expect(statSync('/var/tmp').mode & 0o7777).toBe(before);
    expect(String(result.stdout)).toMatch(/\[INFO\] Changed mode of \S+\/backup: 0700 -> 0750/);
    expect(String(result.stdout)).toMatch(/\[INFO\] Changed owner of \S+\.tar\.zst: 0:0 -> \d+:\d+/);
    const log = readdirSync('/var/tmp').find((n) => n.startsWith(PREFIX) && n.endsWith('.log') && statSync(join('/var/tmp', n)).mtimeMs > Date.now() - 60_000);
    expect(log).toBeDefined();
    expect(statSync(join('/var/tmp', log ?? '')).mode & 0o777).toBe(0o640);
    execaSync('rm', ['-f', join('/var/tmp', log ?? '')]);
  });

  it('a missing user is a WARNING; nothing is changed and no user is created', async () => {
    const sandbox = tierConfig(makeSandbox(), { ENABLE_CLOUD_BACKUP: 'false', SET_BACKUP_PERMISSIONS: 'true', BACKUP_USER: 'pbk-no-such-user' });
    expect((await runLegacy('pve-single', sandbox)).exitCode).toBe(1);
    expect(logOf(sandbox)).toContain('[WARNING] Backup user pbk-no-such-user or group backup not found; permissions unchanged');
    expect(statSync(join(sandbox.backupDir, archives(sandbox.backupDir)[0] ?? '')).mode & 0o777).toBe(0o600);
    expect((await execa('getent', ['passwd', 'pbk-no-such-user'], { reject: false })).exitCode).not.toBe(0);
  });
});

function execaSyncId(flag: string): string {
  return execaSync('id', [flag, 'backup']).stdout.trim();
}
