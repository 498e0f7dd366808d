// The permission planner (native/storage/permissions.ts, security.md §7.2-§7.3): hand-checked rules, then the plan
// for a whole installation and its backup and log directories compared with `legacy/bin/fix-permissions --dry-run`
// on the same tree (same `Dry run: would change …` lines).
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import {
  changeMessages, planBackupDir, planEntry, planInstallation, r1Mode, r2Mode, BACKUP_TYPES,
  type FsEntry, type InstallEntry, type PlannedChange,
} from '../../native/storage/permissions.js';
import { REPO } from '../legacy/run.js';

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const entry = (path: string, kind: FsEntry['kind'], mode: number, uid = 0, gid = 0): FsEntry => ({ path, kind, mode, uid, gid });
const FQDN = 'pve1.lab.example';

describe('rules (hand-checked)', () => {
  it('R1 modes: named entries, executables, backup.env kept at 0400', () => {
    expect(r1Mode('', entry('/b', 'dir', 0o700))).toBe(0o755);
    expect(r1Mode('env', entry('/b/env', 'dir', 0o755))).toBe(0o700);
    expect(r1Mode('env/backup.env', entry('/b/env/backup.env', 'file', 0o400))).toBe(0o400);
    expect(r1Mode('env/backup.env', entry('/b/env/backup.env', 'file', 0o644))).toBe(0o600);
    expect(r1Mode('flags.json', entry('/b/flags.json', 'file', 0o600))).toBe(0o640);
    expect(r1Mode('legacy/run', entry('/b/legacy/run', 'file', 0o744))).toBe(0o750);
    expect(r1Mode('legacy/lib/a.sh', entry('/b/legacy/lib/a.sh', 'file', 0o666))).toBe(0o640);
  });

  it('R2 modes: only spec-shaped names of this host', () => {
    const mode = (name: string): number | null => r2Mode(name, FQDN, BACKUP_TYPES);
    expect(mode(`pve-backup-${FQDN}-2026-03-10_02-00-00.tar.zst`)).toBe(0o600);
    expect(mode(`pbs-backup-${FQDN}-2026-03-10_02-00-00.tar`)).toBe(0o600);
    expect(mode(`pve-backup-${FQDN}-2026-03-10_02-00-00.tar.xz.age`)).toBe(0o600);
    expect(mode(`pve-backup-${FQDN}-2026-03-10_02-00-00.tar.sha256`)).toBe(0o640);
    expect(mode(`pve-backup-${FQDN}-2026-03-10_02-00-00.tar.zst.metadata`)).toBe(0o640);
    expect(mode(`pve-backup-${FQDN}-2026-03-10_02-00-00.log`)).toBe(0o640);
    expect(mode(`pve-backup-${FQDN}-2026-03-10_02-00-00.log.jsonl`)).toBe(0o640);
    expect(mode(`pve-backup-${FQDN}-2026-03-10_02-00-00.json`)).toBe(0o640);
    for (const other of [`pve-backup-${FQDN}-2026-03-10_02-00-00.tar.zst.tmp`, 'pve-backup-other.example-2026-03-10_02-00-00.tar.zst',
      `pve-backup-pve1Xlab.example-2026-03-10_02-00-00.tar`, `pve-backup-${FQDN}-garbage.tar`, 'notes.txt']) expect(mode(other), other).toBeNull();
  });

  it('changes what differs only, never a symlink; setuid bits count as a difference', () => {
    expect(planEntry(entry('/x', 'file', 0o600, 34, 34), 0o600, { uid: 34, gid: 34 })).toBeNull();
    expect(planEntry(entry('/x', 'symlink', 0o777), 0o600, { uid: 34, gid: 34 })).toBeNull();
    expect(planEntry(entry('/x', 'other', 0o644), 0o600, null)).toBeNull();
    const change = planEntry(entry('/x', 'file', 0o4755, 0, 0), 0o750, { uid: 34, gid: 34 });
    expect(change).toEqual({ path: '/x', owner: { from: { uid: 0, gid: 0 }, to: { uid: 34, gid: 34 } }, mode: { from: 0o4755, to: 0o750 } });
    expect(changeMessages([change!], true)).toEqual(['Dry run: would change owner of /x: 0:0 -> 34:34', 'Dry run: would change mode of /x: 4755 -> 0750']);
    expect(changeMessages([change!], false)[1]).toBe('Changed mode of /x: 4755 -> 0750');
  });

  it('never changes a protected directory itself, but still its host files', () => {
    const plan = planBackupDir({ dir: entry('/var/tmp', 'dir', 0o1777), realPath: '/var/tmp',
      children: [entry(`/var/tmp/pve-backup-${FQDN}-2026-03-10_02-00-00.log`, 'file', 0o644)] }, FQDN, ['pve'], null);
    expect(plan.protected).toBe(true);
    expect(changeMessages(plan.changes, true)).toEqual([`Dry run: would change mode of /var/tmp/pve-backup-${FQDN}-2026-03-10_02-00-00.log: 0644 -> 0640`]);
  });

  it('node_modules: removes group and other write bits, adds nothing, never changes owners', () => {
    const entries: InstallEntry[] = [
      { ...entry('/b/node_modules/p/a.js', 'file', 0o666, 5, 5), rel: 'node_modules/p/a.js' },
      { ...entry('/b/node_modules/p/b.js', 'file', 0o600, 5, 5), rel: 'node_modules/p/b.js' },
      { ...entry('/b/native/x/node_modules/c.js', 'file', 0o666, 5, 5), rel: 'native/x/node_modules/c.js' },
    ];
    expect(changeMessages(planInstallation(entries, true), true)).toEqual(['Dry run: would change mode of /b/node_modules/p/a.js: 0666 -> 0644']);
  });
});

// ---- the same tree planned natively and by legacy/bin/fix-permissions --dry-run ----

function lstatEntry(path: string): FsEntry | null {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return null;
  }
  const kind = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  return { path, kind, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/** The edge a real caller has: lstat BASE_DIR, R1's named entries and roots, node_modules; never through a link. */
function scanInstallation(base: string): InstallEntry[] {
  const found: InstallEntry[] = [];
  const add = (rel: string): FsEntry | null => {
    const e = lstatEntry(rel === '' ? base : join(base, rel));
    if (e !== null) found.push({ ...e, rel });
    return e;
  };
  const walk = (rel: string): void => {
    const e = add(rel);
    if (e?.kind !== 'dir') return;
    for (const name of readdirSync(join(base, rel))) walk(`${rel}/${name}`);
  };
  add('');
  for (const rel of ['env', 'config', 'lock', 'env/backup.env', 'config/.server_identity', 'config/integrity.sha256',
    'lock/proxmox-backup.lock', 'VERSION', 'flags.json', 'flags.json.prev', 'package.json', 'package-lock.json']) add(rel);
  for (const root of ['bin', 'legacy', 'shims', 'native', 'dist', 'node_modules']) walk(root);
  return found;
}

function scanDir(dir: string): { dir: FsEntry; realPath: string; children: FsEntry[] } {
  return { dir: lstatEntry(dir)!, realPath: dir, children: readdirSync(dir).map((n) => lstatEntry(join(dir, n))!).filter((e) => e !== null) };
}

describe('the same tree planned by legacy/bin/fix-permissions --dry-run', () => {
  it('gives the same Dry run lines for R1 and R2', async () => {
    const fqdn = execaSync('bash', ['-c', 'hostname -f 2> /dev/null || hostname']).stdout.trim();
    const base = mkdtempSync(join(tmpdir(), 'pbk-perm-'));
    tempDirs.push(base);
    const file = (rel: string, mode: number, uid = 0): void => {
      mkdirSync(join(base, rel, '..'), { recursive: true });
      writeFileSync(join(base, rel), 'x\n');
      chmodSync(join(base, rel), mode);
      if (uid !== 0) chownSync(join(base, rel), uid, uid);
    };
    file('env/backup.env', 0o644);
    file('config/.server_identity', 0o644);
    file('VERSION', 0o600, 1);
    file('flags.json', 0o640);
    file('bin/tool', 0o777);
    file('legacy/lib/a.sh', 0o666);
    file('legacy/lib/b.sh', 0o4755);
    file('native/sub/node_modules/dep.js', 0o666);                     // inside a root: node_modules pruned
    file('node_modules/pkg/index.js', 0o666);
    file('node_modules/pkg/run', 0o775);
    chmodSync(join(base, 'node_modules', 'pkg'), 0o777);
    mkdirSync(join(base, 'shims'), { mode: 0o700 });
    symlinkSync('/etc/passwd', join(base, 'legacy', 'link'));
    execaSync('mkfifo', [join(base, 'legacy', 'fifo')]);
    const ts = '2026-03-10_02-00-00';
    file(`backup/pve-backup-${fqdn}-${ts}.tar.zst`, 0o644);
    file(`backup/pve-backup-${fqdn}-${ts}.tar.zst.sha256`, 0o600);
    file(`backup/pve-backup-${fqdn}-${ts}.tar.zst.metadata`, 0o640, 1);
    file(`backup/pbs-backup-${fqdn}-${ts}.tar`, 0o666);
    file(`backup/pbs-backup-${fqdn}-${ts}.tar.sha256`, 0o666);
    file(`backup/pve-backup-${fqdn}-${ts}.tar.zst.tmp`, 0o666);
    file(`backup/pve-backup-other.example-${ts}.tar.zst`, 0o666);
    file(`backup/pve-backup-${fqdn}-garbage.tar.zst`, 0o666);                 // not spec-shaped: left alone (R2)
    file(`backup/pve-backup-${fqdn}-${ts}.notes`, 0o666);
    file(`backup/pve-backup-${fqdn}-${ts}.tar.ZST`, 0o666);
    symlinkSync('/etc/shadow', join(base, 'backup', `pve-backup-${fqdn}-2026-03-11_02-00-00.tar.zst`));
    file(`log/pve-backup-${fqdn}-${ts}.log`, 0o600);
    file(`log/pve-backup-${fqdn}-${ts}.log.jsonl`, 0o644);
    file(`log/pbs-backup-${fqdn}-${ts}.log.json`, 0o600);
    file('secondary/notes.txt', 0o666);
    chmodSync(join(base, 'secondary'), 0o777);
    writeFileSync(join(base, 'env', 'backup.env'), [`LOCAL_BACKUP_PATH=${base}/backup`, `LOCAL_LOG_PATH=${base}/log`,
      `SECONDARY_BACKUP_PATH=${base}/secondary`, `SECONDARY_LOG_PATH=${base}/absent`,
      `SYSTEM_ROOT_PREFIX=${join(REPO, 'parity', 'hosts', 'pve-single', 'root')}`, ''].join('\n'));

    const legacy = await execa(join(REPO, 'legacy', 'bin', 'fix-permissions'), ['--dry-run'], { env: { BASE_DIR: base }, reject: false });
    expect(legacy.exitCode, legacy.stderr).toBe(0);
    const legacyLines = legacy.stdout.split('\n').map((l) => l.replace(/^[\d-]+ [\d:]+ \[INFO\] /, ''))
      .filter((l) => l.startsWith('Dry run: would change')).sort();

    // scanned after the legacy run, which took (and created) the lock file as a real run does
    const backupOwner = { uid: Number(execaSync('id', ['-u', 'backup']).stdout),
      gid: Number(execaSync('getent', ['group', 'backup']).stdout.split(':')[2]) };
    const changes: PlannedChange[] = [...planInstallation(scanInstallation(base), true)];
    for (const dir of ['backup', 'log', 'secondary']) changes.push(...planBackupDir(scanDir(join(base, dir)), fqdn, BACKUP_TYPES, backupOwner).changes);
    const nativeLines = changeMessages(changes, true).sort();
    expect(nativeLines).toEqual(legacyLines);
    // and the plan is what the tables say, not just what both sides happen to agree on
    expect(nativeLines).toEqual(expect.arrayContaining([
      `Dry run: would change mode of ${base}/legacy/lib/b.sh: 4755 -> 0750`,
      `Dry run: would change owner of ${base}/VERSION: 1:1 -> 0:0`,
      `Dry run: would change mode of ${base}/node_modules/pkg: 0777 -> 0755`,
      `Dry run: would change mode of ${base}/backup/pbs-backup-${fqdn}-${ts}.tar: 0666 -> 0600`,
      `Dry run: would change mode of ${base}/log/pve-backup-${fqdn}-${ts}.log: 0600 -> 0640`,
      `Dry run: would change owner of ${base}/secondary: 0:0 -> ${backupOwner.uid}:${backupOwner.gid}`,
    ]));
    expect(nativeLines.some((l) => /legacy\/link|\/fifo|\.tmp|other\.example|notes|garbage|ZST|sub\/node_modules|2026-03-11/.test(l))).toBe(false);
  });
});
