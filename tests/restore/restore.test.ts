// `restore` of the legacy side (restore.md §3-§9, test scenarios 1-7, 9-11, 13): real archives made by the legacy
// pipeline from fixture hosts, hostile and upstream-style archives forged with Python's tarfile, temp ROOTs.
// GNU tar is the reference: a restored tree must equal what `tar -x` makes of the same archive.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync,
  rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { appendConfig, HOSTS_DIR, makeSandbox, REPO, runLegacy, type Sandbox } from '../legacy/run.js';

const TOOL = join(REPO, 'bin', 'switch-mode');
const FORGE = join(REPO, 'tests', 'restore', 'forge-tar.py');
const IDENTITY = join(REPO, 'parity', 'age-test.key');
const RECIPIENT = /public key: (age1\S+)/.exec(readFileSync(IDENTITY, 'utf8'))?.[1] ?? '';
const AS_ROOT = process.getuid?.() === 0;
const REPORTS = ['var/lib/proxmox-backup-info', 'etc/pve/.version', 'etc/pve/.members', 'etc/pve/.vmlist'];

let sandbox: Sandbox;
let pve: string;         // pve-single, zstd
let pbsEnc: string;      // pbs, xz, age
const cloud = mkdtempSync(join(tmpdir(), 'pbk-restore-cloud-'));

function run(args: string[], extra: Record<string, string> = {}) {
  return execa(TOOL, ['restore', ...args], {
    reject: false, extendEnv: false, stripFinalNewline: false, stdin: 'ignore',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BASE_DIR: sandbox.baseDir, TZ: 'UTC', LC_ALL: 'C.UTF-8',
      TMPDIR: join(sandbox.baseDir, 'tmp'), RCLONE_CONFIG: join(sandbox.baseDir, 'rclone.conf'), ...extra },
  });
}

const strip = (text: string): string[] => String(text).split('\n').filter((l) => l !== '').map((l) => l.replace(/^\S+ \S+ /, ''));
const tempRoot = (): string => mkdtempSync(join(tmpdir(), 'pbk-root-'));
const nameOf = (path: string): string => path.split('/').pop() ?? '';

function archiveOf(dir: string, suffix: RegExp): string {
  const name = readdirSync(dir).find((n) => suffix.test(n));
  if (name === undefined) throw new Error(`no archive in ${dir}`);
  return join(dir, name);
}

function sidecar(archive: string): void {
  const sum = execFileSync('sha256sum', [archive], { encoding: 'utf8' }).split(' ')[0] ?? '';
  writeFileSync(`${archive}.sha256`, `${sum}  ${nameOf(archive)}\n`);
}

interface Forged { name: string; type?: string; data?: string; link?: string; mode?: number; mtime?: number; uid?: number; gid?: number }
function forge(entries: Forged[], name = 'pve-backup-evil-2024-11-25_02-00-00.tar', format = 'pax'): string {
  const dir = mkdtempSync(join(tmpdir(), 'pbk-forged-'));
  const archive = join(dir, name);
  execFileSync('python3', [FORGE, archive, format], { input: JSON.stringify(entries) });
  sidecar(archive);
  return archive;
}

/** type, mode, mtime, size and content/target of every entry below DIR, keyed by relative path. */
function tree(dir: string, skip: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string): void => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      const rel = relative(dir, full);
      if (skip.some((s) => rel === s || rel.startsWith(`${s}/`))) continue;
      const st = lstatSync(full);
      const mode = (st.mode & 0o7777).toString(8);
      const mtime = Math.floor(st.mtimeMs / 1000);
      if (st.isSymbolicLink()) out[rel] = `l ${mode} ${mtime} ${readlinkSync(full)}`;
      else if (st.isDirectory()) { out[rel] = `d ${mode} ${mtime}`; walk(full); }
      else out[rel] = `f ${mode} ${mtime} ${readFileSync(full).toString('base64')}`;
    }
  };
  walk(dir);
  return out;
}

/** What GNU tar extracts from ARCHIVE (reports removed), the reference for a restore --all to an empty ROOT. */
function gnuTree(archive: string, decrypt = false): Record<string, string> {
  const dir = tempRoot();
  if (decrypt) execFileSync('bash', ['-c', `age -d -i "$1" "$2" | tar -C "$3" -xJf -`, '_', IDENTITY, archive, dir]);
  else execFileSync('tar', ['-C', dir, '-xf', archive]);
  for (const report of REPORTS) {   // a report's parents left empty are structural: a restore never makes them
    rmSync(join(dir, report), { recursive: true, force: true });
    for (let parent = join(dir, report, '..'); parent !== dir && existsSync(parent) && readdirSync(parent).length === 0; parent = join(parent, '..')) rmSync(parent, { recursive: true });
  }
  const all = tree(dir);
  // directories emptied by removing the reports got a new mtime in the reference: compare them by type and mode
  return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.startsWith('d ') && REPORTS.some((r) => r.startsWith(`${k}/`)) ? v.split(' ').slice(0, 2).join(' ') : v]));
}

/** RESTORED cut to as many fields as REFERENCE has (report ancestors are compared by type and mode only). */
function comparable(restored: string | undefined, reference: string): string | undefined {
  return restored?.split(' ').slice(0, reference.split(' ').length).join(' ');
}

beforeAll(async () => {
  sandbox = makeSandbox({ COMPRESSION_TYPE: 'zstd' });
  expect((await runLegacy('pve-single', sandbox)).exitCode).toBe(0);
  pve = archiveOf(sandbox.backupDir, /\.tar\.zst$/);
  const other = makeSandbox({ COMPRESSION_TYPE: 'xz', ENCRYPT_ARCHIVE: 'true', AGE_RECIPIENTS: RECIPIENT, LOCAL_BACKUP_PATH: sandbox.backupDir });
  expect((await runLegacy('pbs', other, [], { PBK_NOW: '1732413600' })).exitCode).toBeLessThan(2);
  pbsEnc = archiveOf(sandbox.backupDir, /\.tar\.xz\.age$/);
  writeFileSync(join(sandbox.baseDir, 'rclone.conf'), '[restore-cloud]\ntype = local\n');
  appendConfig(sandbox, { ENABLE_CLOUD_BACKUP: 'true', RCLONE_REMOTE: 'restore-cloud', CLOUD_BACKUP_PATH: cloud, CLOUD_LOG_PATH: `${cloud}/log` });
}, 240_000);

describe('round trip (scenario 1)', () => {
  it('pve-single --all into an empty ROOT equals GNU tar\'s extraction and the fixture files; exit 0', async () => {
    const root = tempRoot();
    const result = await run(['--archive', pve, '--all', '--to', root]);
    expect(result.exitCode).toBe(0);
    const lines = strip(result.stdout);
    expect(lines[0]).toBe(`[STEP] Restore from ${nameOf(pve)} to ${root}`);
    expect(lines).toContain('[INFO] Safety backup: not needed (nothing is replaced)');
    expect(lines.at(-1)).toBe('[SUCCESS] Restore completed with exit code: 0');
    const restored = tree(root);
    const reference = gnuTree(pve);
    for (const [k, v] of Object.entries(reference)) expect(comparable(restored[k], v), k).toBe(v);
    expect(Object.keys(restored).sort()).toEqual(Object.keys(reference).sort());
    expect(existsSync(join(root, 'var/lib/proxmox-backup-info'))).toBe(false);   // reports never restored
    const fixture = join(HOSTS_DIR, 'pve-single', 'root');
    for (const rel of ['etc/pve/storage.cfg', 'etc/pve/nodes/pve1/qemu-server/100.conf', 'etc/network/interfaces']) {
      expect(readFileSync(join(root, rel)), rel).toEqual(readFileSync(join(fixture, rel)));
      expect(lstatSync(join(root, rel)).mode & 0o7777, rel).toBe(lstatSync(join(fixture, rel)).mode & 0o7777);
    }
    const log = readdirSync(sandbox.logDir).find((n) => n.startsWith('restore-'));
    expect(log).toBeDefined();
    expect(lstatSync(join(sandbox.logDir, log ?? '')).mode & 0o777).toBe(0o600);
  });

  it('an encrypted pbs archive with --identity: the plain tree; no file holds the tar stream (scenario 7)', async () => {
    const root = tempRoot();
    const result = await run(['--archive', pbsEnc, '--all', '--to', root, '--identity', IDENTITY]);
    expect(result.exitCode).toBe(0);
    const restored = tree(root);
    for (const [k, v] of Object.entries(gnuTree(pbsEnc, true))) expect(comparable(restored[k], v), k).toBe(v);
    expect(readFileSync(join(root, 'etc/proxmox-backup/datastore.cfg'), 'utf8')).toBe(
      readFileSync(join(HOSTS_DIR, 'pbs', 'root', 'etc/proxmox-backup/datastore.cfg'), 'utf8'));
    const stray = execFileSync('bash', ['-c', 'grep -rl "ustar" "$1" 2>/dev/null || true', '_', sandbox.baseDir], { encoding: 'utf8' });
    expect(stray.split('\n').filter((f) => f !== '' && !f.endsWith('.age'))).toEqual([]);
  });

  it('no identity, a wrong identity: exit 2 with the §4.2 messages, nothing written', async () => {
    const root = tempRoot();
    expect(strip((await run(['--archive', pbsEnc, '--all', '--to', root])).stdout)).toContain('[ERROR] Encrypted archive: --identity is required');
    const wrongKey = join(mkdtempSync(join(tmpdir(), 'pbk-age-')), 'wrong.key');
    execFileSync('age-keygen', ['-o', wrongKey], { stdio: 'ignore' });
    const wrong = await run(['--archive', pbsEnc, '--all', '--to', root, '--identity', wrongKey]);
    expect(wrong.exitCode).toBe(2);
    expect(strip(wrong.stdout)).toContain(`[ERROR] Cannot decrypt ${nameOf(pbsEnc)}: no identity matches`);
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('categories (scenario 2, §5)', () => {
  it('--categories vm-configs: only the VM and CT configs and their parents', async () => {
    const root = tempRoot();
    const result = await run(['--archive', pve, '--categories', 'vm-configs', '--to', root]);
    expect(result.exitCode).toBe(0);
    const files = Object.entries(tree(root)).filter(([, v]) => !v.startsWith('d ')).map(([k]) => k).sort();
    expect(files).toEqual(['etc/pve/nodes/pve1/lxc/200.conf', 'etc/pve/nodes/pve1/qemu-server/100.conf', 'etc/pve/nodes/pve1/qemu-server/101.conf']);
    const lines = strip(result.stdout);
    expect(lines).toContain('[INFO] Categories: vm-configs');
    expect(lines).toContain('[INFO] Restored: 3 files, 0 symlinks, 5 directories');
    expect(lines.find((l) => l.startsWith('[INFO] Skipped: '))).toMatch(/^\[INFO\] Skipped: \d+ entries \(\d+ not selected, \d+ reports, 0 other\)$/);
  });

  it('--list-categories without an archive: the fixed table; with one: counts, (reports) last', async () => {
    const fixed = await run(['--list-categories']);
    expect(fixed.exitCode).toBe(0);
    const rows = fixed.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^CATEGORY +ON \/ +COVERS$/);
    expect(rows[1]).toMatch(/^pve-cluster +guarded +var\/lib\/pve-cluster$/);
    expect(rows.at(-1)).toMatch(/^\(reports\) +never +var\/lib\/proxmox-backup-info, /);
    expect(rows).toHaveLength(21);
    expect(rows).toContainEqual(expect.stringMatching(/^network +yes +.*etc\/systemd\/network, etc\/udev\/rules\.d$/));
    expect(rows).toContainEqual(expect.stringMatching(
      /^storage-stack +guarded +etc\/lvm, etc\/iscsi, etc\/multipath, etc\/multipath\.conf, etc\/mdadm, etc\/crypttab, etc\/hostid, var\/lib\/iscsi$/));
    expect(rows).toContainEqual(expect.stringMatching(/^system +yes +.*etc\/modprobe\.d, .*etc\/kernel, etc\/default\/grub, .*etc\/sysctl\.d, usr\/local$/));
    const counted = await run(['--archive', pve, '--list-categories']);
    expect(counted.exitCode).toBe(0);
    const table = counted.stdout.split('\n').filter((l) => !/^\d{4}-/.test(l) && l !== '');
    expect(table[0]).toMatch(/^CATEGORY +ENTRIES +ON \/$/);
    expect(table).toContainEqual(expect.stringMatching(/^vm-configs +3 +yes$/));
    expect(table).toContainEqual(expect.stringMatching(/^storage-stack +[1-9]\d* +guarded$/));   // etc/lvm, etc/hostid
    expect(table.at(-1)).toMatch(/^\(reports\) +\d+ +never$/);
  });

  it('an unknown category, both --categories and --all, an unknown option: exit 2', async () => {
    const unknown = await run(['--archive', pve, '--categories', 'vm-configs,nope', '--to', tempRoot()]);
    expect(unknown.exitCode).toBe(2);
    expect(strip(unknown.stdout)).toContainEqual(expect.stringMatching(/^\[ERROR\] Unknown category: nope \(valid: pve-cluster,corosync,vm-configs,.*,custom-paths\)$/));
    expect((await run(['--archive', pve, '--categories', 'apt', '--all'])).exitCode).toBe(2);
    expect((await run(['--archive', pve, '--bogus'])).exitCode).toBe(2);
  });

  it('a named category without entries: WARNING, exit 1', async () => {
    const result = await run(['--archive', pve, '--categories', 'ceph', '--to', tempRoot()]);
    expect(result.exitCode).toBe(1);
    expect(strip(result.stdout)).toContain('[WARNING] Category ceph has no entries in this archive');
  });
});

describe('guards and /etc/pve modes (scenario 3, §5.5, §5.6)', () => {
  const STOP = ['[INFO] Stop the cluster stack on this node first:', '[INFO]   systemctl stop pve-ha-lrm pve-ha-crm',
    '[INFO]   systemctl stop pve-cluster corosync', '[INFO] Then run the same restore command again with --yes.'];

  it('ROOT /, a guarded category, no --yes: exit 2 plus the stop commands; dry-run: a WARNING', async () => {
    const result = await run(['--archive', pve, '--categories', 'pve-cluster', '--to', '/']);
    expect(result.exitCode).toBe(2);
    const lines = strip(result.stdout);
    expect(lines).toEqual(expect.arrayContaining(['[ERROR] Category pve-cluster needs --yes when restoring to /', ...STOP]));
    const dry = await run(['--archive', pve, '--categories', 'pve-cluster', '--to', '/', '--dry-run']);
    expect(strip(dry.stdout)).toContain('[WARNING] Dry run: category pve-cluster would need --yes');
  });

  it('storage-stack is guarded on / (LVM metadata, hostid, crypttab): named and --yes, no cluster commands', async () => {
    const result = await run(['--archive', pve, '--categories', 'storage-stack', '--to', '/']);
    expect(result.exitCode).toBe(2);
    const lines = strip(result.stdout);
    expect(lines).toContain('[ERROR] Category storage-stack needs --yes when restoring to /');
    expect(lines).not.toContain(STOP[0]);
    const all = await run(['--archive', pve, '--all', '--to', '/', '--dry-run']);
    expect(strip(all.stdout)).toContain('[INFO] Not restored by --all on /: storage-stack (name it with --categories)');
    const root = tempRoot();
    const other = await run(['--archive', pve, '--categories', 'storage-stack,system', '--to', root]);
    expect(other.exitCode).toBe(0);
    for (const rel of ['etc/lvm/backup/pve', 'etc/hostid', 'etc/modprobe.d/zfs.conf', 'etc/default/grub']) expect(existsSync(join(root, rel)), rel).toBe(true);
    expect(existsSync(join(root, 'etc/lvm/cache'))).toBe(false);   // never collected
  });

  it('pmxcfs mounted on ROOT/etc/pve: pve-cluster refused with the commands; pve-config written through it, links skipped', async () => {
    const root = tempRoot();
    mkdirSync(join(root, 'etc/pve'), { recursive: true });
    const mountinfo = join(root, 'mountinfo');
    writeFileSync(mountinfo, `22 1 0:20 / /proc rw - proc proc rw\n61 25 0:52 / ${root}/etc/pve rw,nosuid - fuse /dev/fuse rw\n`);
    const refused = await run(['--archive', pve, '--categories', 'pve-cluster', '--to', root], { PBK_MOUNTINFO: mountinfo });
    expect(refused.exitCode).toBe(2);
    expect(strip(refused.stdout)).toEqual(expect.arrayContaining([
      `[ERROR] Category pve-cluster cannot be restored while pmxcfs is running (${root}/etc/pve is mounted)`, ...STOP]));
    const config = await run(['--archive', pve, '--categories', 'pve-config', '--to', root], { PBK_MOUNTINFO: mountinfo });
    expect(config.exitCode).toBe(0);
    expect(strip(config.stdout)).toEqual(expect.arrayContaining(['[INFO] Skipped etc/pve/local: pmxcfs manages this link']));
    expect(existsSync(join(root, 'etc/pve/datacenter.cfg'))).toBe(true);
    expect(existsSync(join(root, 'etc/pve/local'))).toBe(false);
  });

  it('ROOT with config.db and a plain etc/pve: pve-config skipped (blocked), pve-cluster restored', async () => {
    const root = tempRoot();
    mkdirSync(join(root, 'var/lib/pve-cluster'), { recursive: true });
    writeFileSync(join(root, 'var/lib/pve-cluster/config.db'), 'old');
    writeFileSync(join(root, 'var/lib/pve-cluster/config.db-wal'), 'stale wal');
    const result = await run(['--archive', pve, '--categories', 'pve-config,pve-cluster', '--to', root]);
    expect(result.exitCode).toBe(1);
    const lines = strip(result.stdout);
    expect(lines).toContain(`[WARNING] Skipped pve-config: ${root}/etc/pve is not a running pmxcfs; its content comes from config.db`);
    expect(lines).toContain(`[INFO] Removed stale ${root}/var/lib/pve-cluster/config.db-wal`);
    expect(existsSync(join(root, 'etc/pve'))).toBe(false);
    expect(readFileSync(join(root, 'var/lib/pve-cluster/config.db'))).toEqual(execFileSync('tar', ['-xOf', pve, './var/lib/pve-cluster/config.db']));
    const safety = lines.find((l) => l.startsWith('[INFO] Safety backup: /'))?.replace(/^\[INFO\] Safety backup: (\S+) .*$/, '$1') ?? '';
    expect(execFileSync('tar', ['-tzf', safety], { encoding: 'utf8' }).split('\n').filter(Boolean).sort())
      .toEqual(['./var/lib/pve-cluster/', './var/lib/pve-cluster/config.db', './var/lib/pve-cluster/config.db-wal']);
  });

  it('without a terminal: no --archive, no --categories/--all, / without --yes → exit 2 with each message (scenario 10)', async () => {
    expect(strip((await run(['--all'])).stdout)).toContain('[ERROR] --archive is required when not running on a terminal');
    expect(strip((await run(['--archive', pve, '--to', tempRoot()])).stdout)).toContain('[ERROR] --categories or --all is required when not running on a terminal');
    if (AS_ROOT) {   // as root the next checks pass and the confirmation is what stops it
      expect(strip((await run(['--archive', pve, '--categories', 'ceph', '--to', '/'])).stdout)).toContain('[ERROR] Restoring to / needs --yes when not running on a terminal');
    } else {
      expect(strip((await run(['--archive', pve, '--categories', 'ceph', '--to', '/'])).stdout)).toContain('[ERROR] Restoring to / needs root');
    }
  });
});

describe('safety backup and undo (scenario 4, §7)', () => {
  it('the safety archive holds exactly what was replaced (links as links); the undo command brings it back', async () => {
    const root = tempRoot();
    mkdirSync(join(root, 'etc/network'), { recursive: true });
    writeFileSync(join(root, 'etc/hosts'), 'old hosts\n');
    chmodSync(join(root, 'etc/hosts'), 0o600);
    utimesSync(join(root, 'etc/hosts'), 1600000000, 1600000000);
    symlinkSync('/nowhere', join(root, 'etc/hostname'));
    writeFileSync(join(root, 'etc/untouched'), 'keep\n');
    const before = tree(root);
    const result = await run(['--archive', pve, '--categories', 'network', '--to', root]);
    expect(result.exitCode).toBe(0);
    const lines = strip(result.stdout);
    const safety = /^\[INFO\] Safety backup: (\S+) \(3 entries\)$/.exec(lines.find((l) => l.startsWith('[INFO] Safety backup: /')) ?? '')?.[1] ?? '';
    expect(safety).toMatch(/restore-safety\/restore-safety-\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.tar\.gz$/);
    expect(lstatSync(safety).mode & 0o777).toBe(0o600);
    expect(execFileSync('tar', ['-tvzf', safety], { encoding: 'utf8' })).toMatch(/^lrwxrwxrwx .* \.\/etc\/hostname -> \/nowhere\n-rw------- .* \.\/etc\/hosts\nd\S+ .* \.\/etc\/network\/\n$/);
    expect(execFileSync('sha256sum', ['-c', `${nameOf(safety)}.sha256`], { cwd: join(safety, '..'), encoding: 'utf8' })).toContain(': OK');
    const undo = lines.find((l) => l.startsWith('[INFO] Undo: '))?.replace('[INFO] Undo: bin/switch-mode restore ', '') ?? '';
    expect(undo).toBe(`--archive ${safety} --categories network --to ${root} --yes`);
    expect(readFileSync(join(root, 'etc/hosts'), 'utf8')).not.toBe('old hosts\n');
    const back = await run(undo.split(' '));
    expect(back.exitCode).toBe(0);
    const after = tree(root);
    for (const rel of ['etc/hosts', 'etc/hostname', 'etc/untouched']) expect(after[rel], rel).toBe(before[rel]);
    expect(after['etc/network/interfaces']).toBeDefined();   // files the restore created stay
  });

  it('--dry-run: one plan line per entry a real run writes; ROOT unchanged, no safety backup (scenario 10)', async () => {
    const root = tempRoot();
    writeFileSync(join(root, 'keep'), 'x');
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc/hosts'), 'old\n');
    const before = tree(root);
    const safetyBefore = existsSync(join(sandbox.baseDir, 'restore-safety')) ? readdirSync(join(sandbox.baseDir, 'restore-safety')) : [];
    const dry = await run(['--archive', pve, '--categories', 'network', '--to', root, '--dry-run']);
    expect(dry.exitCode).toBe(0);
    expect(strip(dry.stdout).filter((l) => l.startsWith('[INFO] Dry run: '))).toEqual([
      `[INFO] Dry run: would create directory ${root}/etc/network`, `[INFO] Dry run: would create ${root}/etc/hostname`,
      `[INFO] Dry run: would replace ${root}/etc/hosts`, `[INFO] Dry run: would create ${root}/etc/network/interfaces`,
      `[INFO] Dry run: would create ${root}/etc/resolv.conf`,
      // decision 23: interfaces.d and the NIC naming rules are network too (restore.md §5.2)
      `[INFO] Dry run: would create directory ${root}/etc/network/interfaces.d`,
      `[INFO] Dry run: would create directory ${root}/etc/udev/rules.d`,
      `[INFO] Dry run: would create ${root}/etc/udev/rules.d/70-persistent-net.rules`,
    ].sort((a, b) => (a.split(' ').pop() ?? '').localeCompare(b.split(' ').pop() ?? '')));
    expect(tree(root)).toEqual(before);
    const safetyAfter = existsSync(join(sandbox.baseDir, 'restore-safety')) ? readdirSync(join(sandbox.baseDir, 'restore-safety')) : [];
    expect(safetyAfter).toEqual(safetyBefore);
    const real = await run(['--archive', pve, '--categories', 'network', '--to', root, '-v']);
    const written = strip(real.stdout).filter((l) => /^\[DEBUG\] (Created|Replaced) .*[^/]$/.test(l) && !l.endsWith('/etc/network'));
    // every path the dry run named (etc/network's line aside), plus etc/udev: a structural parent the archive
    // holds outside any category, created on the way to etc/udev/rules.d
    expect(written.map((l) => l.replace(/^\[DEBUG\] (Created|Replaced) /, '')).sort()).toEqual(
      ['hostname', 'hosts', 'network/interfaces', 'network/interfaces.d', 'resolv.conf', 'udev', 'udev/rules.d',
        'udev/rules.d/70-persistent-net.rules'].map((rel) => `${root}/etc/${rel}`).sort());
  });
});

describe('hostile archives (scenario 5, §8)', () => {
  it('every §8 case refused or defused, the tamper WARNING once, exit 1, nothing outside ROOT', async () => {
    const base = tempRoot();
    const root = join(base, 'root');
    const outside = join(base, 'outside');
    mkdirSync(root);
    mkdirSync(outside);
    symlinkSync(outside, join(root, 'b'));
    const archive = forge([
      { name: './etc', type: 'dir' }, { name: './etc/ok.cfg', data: 'fine\n' }, { name: '/etc/x', data: 'abs\n' },
      { name: '../x', data: 'up\n' }, { name: './a', type: 'symlink', link: '/' }, { name: './a/etc/passwd', data: 'evil\n' },
      { name: './c', type: 'symlink', link: '..' }, { name: './c/x', data: 'evil\n' }, { name: './b/f', data: 'through b\n' },
      { name: './fifo', type: 'fifo' }, { name: './chr', type: 'char' }, { name: './suid', data: '#!/bin/sh\n', mode: 0o4755 },
      { name: './hl', type: 'hardlink', link: '../../etc/shadow' }, { name: './tmplink', type: 'symlink', link: '/tmp/proxmox-backup-x/nothing' },
    ]);
    const result = await run(['--archive', archive, '--all', '--to', root]);
    expect(result.exitCode).toBe(1);
    const lines = strip(result.stdout);
    expect(lines).toEqual(expect.arrayContaining([
      '[WARNING] Refused /etc/x: absolute path', '[WARNING] Refused ../x: parent directory reference',
      '[WARNING] Refused a/etc/passwd: path goes through a symlink from the archive', '[WARNING] Refused c/x: path goes through a symlink from the archive',
      '[WARNING] Refused b/f: escapes the target through a symlink', '[WARNING] Refused fifo: special file', '[WARNING] Refused chr: special file',
      '[WARNING] Refused hl: parent directory reference', '[WARNING] Refused tmplink: link into an old temporary directory',
      '[WARNING] Cleared setuid/setgid on suid (mode 4755)', '[INFO] Refused: 9 entries',
    ]));
    expect(lines.filter((l) => l.includes('may have been tampered with'))).toEqual(['[WARNING] This archive contains entries that point outside the target; it may have been tampered with']);
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(base).sort()).toEqual(['outside', 'root']);
    expect(lstatSync(join(root, 'suid')).mode & 0o7777).toBe(0o755);
    expect(readFileSync(join(root, 'etc/ok.cfg'), 'utf8')).toBe('fine\n');
  });

  it('names of 255 bytes (the file-system limit): written, replaced and linked as GNU tar does, no temp name left', async () => {
    const file = `${'n'.repeat(250)}.conf`;   // 255 bytes: `.<name>.pbk-restore.<pid>` could never fit
    const link = 'l'.repeat(255);
    const kept = `${'k'.repeat(254)}x`;
    const archive = forge([
      { name: './root/long', type: 'dir', mode: 0o755, mtime: 1700000000 },
      { name: `./root/long/${file}`, data: 'new content\n', mode: 0o640, mtime: 1700000001 },
      { name: `./root/long/${link}`, type: 'symlink', link: file, mtime: 1700000002 },
      { name: `./root/long/${kept}`, data: 'replacement\n', mode: 0o600, mtime: 1700000003 },
    ]);
    const root = tempRoot();
    mkdirSync(join(root, 'root/long'), { recursive: true });
    writeFileSync(join(root, 'root/long', kept), 'old\n');   // an existing 255-byte name is replaced (safety backup first)
    const result = await run(['--archive', archive, '--all', '--to', root]);
    const lines = strip(result.stdout);
    expect(lines.filter((l) => /^\[(WARNING|ERROR)\]/.test(l))).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(lines).toContain('[INFO] Restored: 2 files, 1 symlinks, 0 directories');   // root/long: structural (§5.1)
    const reference = tempRoot();
    execFileSync('tar', ['-C', reference, '-xf', archive]);
    const entries = (dir: string): Record<string, string> => Object.fromEntries(Object.entries(tree(dir)).filter(([, v]) => !v.startsWith('d ')));
    expect(entries(join(root, 'root'))).toEqual(entries(join(reference, 'root')));
    expect(readdirSync(join(root, 'root/long')).sort()).toEqual([file, kept, link].sort());
    expect(readFileSync(join(root, 'root/long', kept), 'utf8')).toBe('replacement\n');
  });

  it('a decompression bomb against a stubbed free-space probe: exit 2 before writing', async () => {
    const stub = mkdtempSync(join(tmpdir(), 'pbk-stat-'));
    writeFileSync(join(stub, 'stat'), '#!/bin/bash\nif [[ "$1" == -f ]]; then echo "4 1024"; else exec /usr/bin/stat "$@"; fi\n');
    chmodSync(join(stub, 'stat'), 0o755);
    const archive = forge([{ name: './big', data: 'z'.repeat(200_000) }]);
    execFileSync('xz', ['-z', archive]);
    sidecar(`${archive}.xz`);
    const root = tempRoot();
    const result = await run(['--archive', `${archive}.xz`, '--all', '--to', root], { PATH: `${stub}:${process.env.PATH ?? '/usr/bin:/bin'}` });
    expect(result.exitCode).toBe(2);
    expect(strip(result.stdout)).toContain(`[ERROR] Not enough free space in ${root}: need 195.3 KiB, available 4.0 KiB`);
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('the run lock (§1)', () => {
  it('another holder of the lock stops a restore with exit 2, nothing written; a dry-run takes no lock', async () => {
    mkdirSync(join(sandbox.baseDir, 'lock'), { recursive: true });
    const lock = join(sandbox.baseDir, 'lock', 'proxmox-backup.lock');
    writeFileSync(lock, 'pid=999999\nstart=1\n');
    const holder = execa('bash', ['-c', 'exec 9>> "$1" && flock 9 && exec sleep 30', '_', lock], { reject: false });
    await new Promise((r) => setTimeout(r, 300));
    try {
      const root = tempRoot();
      const held = await run(['--archive', pve, '--categories', 'network', '--to', root]);
      expect(held.exitCode).toBe(2);
      expect(strip(held.stdout)).toContain('[ERROR] Another backup run is in progress (PID 999999)');
      expect(readdirSync(root)).toEqual([]);
      expect((await run(['--archive', pve, '--categories', 'network', '--to', root, '--dry-run'])).exitCode).toBe(0);
    } finally {
      holder.kill();
      await holder;
      writeFileSync(lock, '');
    }
  });
});

describe('on a terminal (§3, §5.4)', () => {
  it('the archive menu and the category prompt (names and numbers), progress never in the log file', async () => {
    const root = tempRoot();
    const result = await execa('python3', [join(REPO, 'tests', 'helpers', 'pty-drive.py'), 'Select an archive=1',
      'Categories to restore=network,3', '--', TOOL, 'restore', '--to', root], {
      reject: false, extendEnv: false,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BASE_DIR: sandbox.baseDir, TZ: 'UTC', LC_ALL: 'C.UTF-8', TMPDIR: join(sandbox.baseDir, 'tmp'),
        RCLONE_CONFIG: join(sandbox.baseDir, 'rclone.conf') },
    });
    expect(result.exitCode).toBe(0);
    const screen = result.stdout.replace(/\r/g, '');
    expect(screen).toMatch(/^# {3}TIER +DATE +TYPE +HOST +SIZE +ENC +SHA256 +NAME\n1 {3}local /m);
    expect(screen).toMatch(/Select an archive \[1-\d+, 0 to cancel\]: 1\n/);
    expect(screen).toMatch(/^3 {3}vm-configs +3 +yes$/m);
    expect(screen).toContain('[INFO] Categories: network,vm-configs');
    expect(existsSync(join(root, 'etc/network/interfaces'))).toBe(true);
    // restore-<fqdn>-<second>.log: a restore in the same second as an earlier one appends to its file
    const text = readdirSync(sandbox.logDir).filter((n) => n.startsWith('restore-')).map((n) => readFileSync(join(sandbox.logDir, n), 'utf8')).join('');
    expect(text).toContain('[INFO] Categories: network,vm-configs');
    expect(text).not.toMatch(/Restoring \d+\/\d+ entries/);
    expect(screen).toMatch(/Restoring \d+\/\d+ entries, /);   // the progress line, on the terminal only
  });
});

describe('stopping while writing (§6.3)', () => {
  it('SIGTERM mid-file: the temp file removed, `Restore interrupted`, the report, exit 2', async () => {
    // a gzip that serves the listing pass whole, then stalls the writing pass halfway through the big file. The
    // interrupt reaches the writer's whole process group: a tree walk with pgrep once missed the `sleep` on a loaded
    // machine, the run outlived execa's 5 s grace and was killed (exit code undefined in CI)
    const stub = mkdtempSync(join(tmpdir(), 'pbk-gzip-'));
    writeFileSync(join(stub, 'gzip'), `#!/bin/bash
n=$(( $(cat "${stub}/count" 2> /dev/null || echo 0) + 1 )); echo "$n" > "${stub}/count"
if (( n == 2 )); then /usr/bin/gzip "$@" | head -c 100000; exec sleep 20; fi
exec /usr/bin/gzip "$@"
`);
    chmodSync(join(stub, 'gzip'), 0o755);
    const archive = forge([{ name: './etc', type: 'dir' }, { name: './etc/first', data: 'one\n' }, { name: './etc/big', data: 'y'.repeat(400_000) }]);
    execFileSync('gzip', ['-n', archive]);
    sidecar(`${archive}.gz`);
    const root = tempRoot();
    const child = run(['--archive', `${archive}.gz`, '--all', '--to', root], { PATH: `${stub}:${process.env.PATH ?? '/usr/bin:/bin'}` });
    // Waits for the temp file as long as a hang takes to detect (a loaded machine took over 10 s), and never leaves
    // the stalled restore holding the run lock for the tests after this one.
    try {
      for (let i = 0; i < 2400 && !(existsSync(join(root, 'etc')) && readdirSync(join(root, 'etc')).some((n) => n.includes('.pbk-restore.'))); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(readdirSync(join(root, 'etc')).some((n) => n.startsWith('.big.pbk-restore.'))).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    const result = await child;
    expect(result.exitCode).toBe(2);
    const lines = strip(result.stdout);
    expect(lines).toEqual(expect.arrayContaining(['[ERROR] Restore interrupted', '[INFO] Restored: 1 files, 0 symlinks, 0 directories']));
    expect(lines.at(-1)).toBe('[ERROR] Restore completed with exit code: 2');
    expect(readdirSync(join(root, 'etc'))).toEqual(['first']);
  });

  it('an archive that reads differently the second time: `Archive changed while restoring`, exit 2', async () => {
    const first = forge([{ name: './etc', type: 'dir' }, { name: './etc/hosts', data: 'one\n' }, { name: './etc/fstab', data: 'two\n' }]);
    const other = forge([{ name: './etc', type: 'dir' }, { name: './etc/hosts', data: 'one\n' }, { name: './etc/swapped', data: 'evil\n' }]);
    const stub = mkdtempSync(join(tmpdir(), 'pbk-gzip-'));   // the listing pass reads FIRST, the writing pass OTHER
    writeFileSync(join(stub, 'gzip'), `#!/bin/bash
n=$(( $(cat "${stub}/count" 2> /dev/null || echo 0) + 1 )); echo "$n" > "${stub}/count"
if (( n == 2 )); then exec cat "${other}"; fi
exec /usr/bin/gzip "$@"
`);
    chmodSync(join(stub, 'gzip'), 0o755);
    execFileSync('gzip', ['-n', first]);
    sidecar(`${first}.gz`);
    const root = tempRoot();
    const result = await run(['--archive', `${first}.gz`, '--all', '--to', root], { PATH: `${stub}:${process.env.PATH ?? '/usr/bin:/bin'}` });
    expect(result.exitCode).toBe(2);
    expect(strip(result.stdout)).toContain('[ERROR] Archive changed while restoring');
    expect(existsSync(join(root, 'etc/swapped'))).toBe(false);
  });

  it.runIf(AS_ROOT)('a full filesystem: `Restore aborted: No space left on device (<path>)`, exit 2, no temp file', async () => {
    const root = tempRoot();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', root]);
    try {
      const stub = mkdtempSync(join(tmpdir(), 'pbk-stat-'));   // the free-space probe says there is room
      writeFileSync(join(stub, 'stat'), '#!/bin/bash\nif [[ "$1" == -f ]]; then echo "1000000 1024"; else exec /usr/bin/stat "$@"; fi\n');
      chmodSync(join(stub, 'stat'), 0o755);
      const archive = forge([{ name: './a/small', data: 'x' }, { name: './a/big', data: 'z'.repeat(100_000) }]);
      const result = await run(['--archive', archive, '--all', '--to', root], { PATH: `${stub}:${process.env.PATH ?? '/usr/bin:/bin'}` });
      expect(result.exitCode).toBe(2);
      expect(strip(result.stdout)).toEqual(expect.arrayContaining([`[ERROR] Restore aborted: No space left on device (${root}/a/big)`,
        '[INFO] Restored: 1 files, 0 symlinks, 0 directories']));
      expect(readdirSync(join(root, 'a'))).toEqual(['small']);
    } finally {
      execFileSync('umount', [root]);
    }
  });
});

describe('checksums and corruption (scenario 6)', () => {
  it('a flipped byte: Checksum mismatch, exit 2, --force or not; no sidecar: exit 2, with --force the WARNING then corrupt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-flip-'));
    const copy = join(dir, nameOf(pve));
    copyFileSync(pve, copy);
    copyFileSync(`${pve}.sha256`, `${copy}.sha256`);
    const bytes = readFileSync(copy);
    bytes[200] = (bytes[200] ?? 0) ^ 0xff;
    writeFileSync(copy, bytes);
    const root = tempRoot();
    for (const extra of [[], ['--force']]) {
      const result = await run(['--archive', copy, '--all', '--to', root, ...extra]);
      expect(result.exitCode).toBe(2);
      expect(strip(result.stdout)).toContain(`[ERROR] Checksum mismatch for ${nameOf(pve)}`);
    }
    rmSync(`${copy}.sha256`);
    const missing = await run(['--archive', copy, '--all', '--to', root]);
    expect(missing.exitCode).toBe(2);
    expect(strip(missing.stdout)).toContain(`[ERROR] Checksum file missing: ${nameOf(pve)}.sha256 (use --force to restore anyway)`);
    const forced = strip((await run(['--archive', copy, '--all', '--to', root, '--force'])).stdout);
    expect(forced).toContain(`[WARNING] Checksum file missing: ${nameOf(pve)}.sha256`);
    expect(forced.find((l) => l.startsWith('[ERROR] '))).toMatch(/^\[ERROR\] Archive is corrupt: /);
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('upstream archives and conflicts (scenarios 9, 11, 13)', () => {
  it('reports skipped, a file chunked in three rejoined byte-exact, a dedup link made a regular file, an absolute sidecar path', async () => {
    const content = 'A'.repeat(700) + 'B'.repeat(700) + 'C'.repeat(100);
    const archive = forge([
      { name: 'var/lib/pve-cluster/info/pve_version.txt', data: 'pve-manager/8.2\n' },
      { name: 'etc/pve/storage.cfg', data: 'dir: local\n' },
      { name: 'root/big.sql.chunked', data: '', mode: 0o640, mtime: 1650000000 },
      { name: 'chunked_files/root/big.sql.00.chunk', data: content.slice(0, 700) },
      { name: 'chunked_files/root/big.sql.01.chunk', data: content.slice(700, 1400) },
      { name: 'chunked_files/root/big.sql.02.chunk', data: content.slice(1400) },
      { name: 'etc/vzdump.conf', type: 'symlink', link: '/tmp/proxmox-backup-12345/etc/pve/storage.cfg' },
    ], 'pve-backup-old.example-2024-01-01_02-00-00.tar.gz', 'gnu');
    execFileSync('bash', ['-c', 'gzip -c "$1" > "$1.gz" && mv "$1.gz" "$1" && sum=$(sha256sum "$1" | cut -d" " -f1) && echo "$sum  $1" > "$1.sha256"', '_', archive]);
    const root = tempRoot();
    const result = await run(['--archive', archive, '--all', '--to', root]);
    expect(result.exitCode).toBe(0);
    const lines = strip(result.stdout);
    expect(lines).toEqual(expect.arrayContaining(['[INFO] Rejoined root/big.sql from 3 chunks', '[INFO] Resolved deduplicated link etc/vzdump.conf']));
    expect(readFileSync(join(root, 'root/big.sql'), 'utf8')).toBe(content);
    expect(lstatSync(join(root, 'root/big.sql')).mode & 0o777).toBe(0o640);
    expect(Math.floor(lstatSync(join(root, 'root/big.sql')).mtimeMs / 1000)).toBe(1650000000);
    expect(lstatSync(join(root, 'etc/vzdump.conf')).isFile()).toBe(true);
    expect(readFileSync(join(root, 'etc/vzdump.conf'), 'utf8')).toBe('dir: local\n');
    expect(existsSync(join(root, 'var/lib/pve-cluster/info'))).toBe(false);
    expect(existsSync(join(root, 'chunked_files'))).toBe(false);
    expect(existsSync(join(root, 'root/big.sql.chunked'))).toBe(false);
  });

  it('a duplicate entry, a file over a directory, a directory over a file: the §6.2 WARNINGs, exit 1', async () => {
    const root = tempRoot();
    mkdirSync(join(root, 'etc/hosts'), { recursive: true });
    writeFileSync(join(root, 'etc/ssh'), 'a file where the archive has a directory\n');
    writeFileSync(join(root, 'etc/cron.d'), 'a file where the archive has a parent directory\n');
    const archive = forge([
      { name: './etc', type: 'dir' }, { name: './etc/hosts', data: 'x\n' }, { name: './etc/ssh', type: 'dir' },
      { name: './etc/fstab', data: 'first\n' }, { name: './etc/fstab', data: 'second\n' }, { name: './etc/cron.d/job', data: '* * * * * root true\n' },
    ]);
    const result = await run(['--archive', archive, '--all', '--to', root]);
    expect(result.exitCode).toBe(1);
    expect(strip(result.stdout)).toEqual(expect.arrayContaining(['[WARNING] Skipped etc/hosts: a directory exists there',
      '[WARNING] Skipped etc/ssh: not a directory on disk', '[WARNING] Duplicate entry etc/fstab; the last one is used',
      '[WARNING] Failed to restore etc/cron.d/job: Not a directory', '[INFO] Failed: 1 entries']));
    expect(readFileSync(join(root, 'etc/fstab'), 'utf8')).toBe('second\n');
  });

  it('numeric owners as stored when root (never mapped by name); otherwise the INFO line and the running user', async () => {
    const archive = forge([{ name: './etc', type: 'dir', uid: 0, gid: 0 }, { name: './etc/owned', data: 'x\n', uid: 1234, gid: 5678 },
      { name: './etc/link', type: 'symlink', link: 'owned', uid: 4321, gid: 8765 }, { name: './etc/ssh', type: 'dir', uid: 2345, gid: 6789 }]);
    const root = tempRoot();
    const result = await run(['--archive', archive, '--all', '--to', root]);
    expect(result.exitCode).toBe(0);
    if (AS_ROOT) {
      expect([lstatSync(join(root, 'etc/owned')).uid, lstatSync(join(root, 'etc/owned')).gid]).toEqual([1234, 5678]);
      expect([lstatSync(join(root, 'etc/link')).uid, lstatSync(join(root, 'etc/link')).gid]).toEqual([4321, 8765]);
      expect([lstatSync(join(root, 'etc/ssh')).uid, lstatSync(join(root, 'etc/ssh')).gid]).toEqual([2345, 6789]);
    } else {
      expect(strip(result.stdout)).toContain('[INFO] Not running as root: owners are not restored');
      expect(lstatSync(join(root, 'etc/owned')).uid).toBe(process.getuid?.());
    }
  });

  it('hard links become separate files with the content read back from ROOT; one to an unselected entry is skipped', async () => {
    const archive = forge([
      { name: './etc', type: 'dir' }, { name: './etc/hosts', data: 'hosts\n' }, { name: './etc/ssh', type: 'dir' },
      { name: './etc/ssh/sshd_config', data: 'Port 22\n' }, { name: './etc/hosts.copy', type: 'hardlink', link: './etc/hosts', mode: 0o600 },
      { name: './etc/sshd.copy', type: 'hardlink', link: './etc/ssh/sshd_config' },
    ]);
    const root = tempRoot();
    const result = await run(['--archive', archive, '--categories', 'network,custom-paths', '--to', root]);
    expect(result.exitCode).toBe(1);
    expect(strip(result.stdout)).toContain('[WARNING] Skipped etc/sshd.copy: hard link to an entry that is not restored');
    expect(readFileSync(join(root, 'etc/hosts.copy'), 'utf8')).toBe('hosts\n');
    expect(lstatSync(join(root, 'etc/hosts.copy')).nlink).toBe(1);
    expect(lstatSync(join(root, 'etc/hosts.copy')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(root, 'etc/sshd.copy'))).toBe(false);
  });

  it('by a name only the cloud has: downloaded under restore-safety/download-…, restored, the download removed', async () => {
    const name = 'pve-backup-pve1.lab.example-2024-10-01_02-00-00.tar.zst';
    copyFileSync(pve, join(cloud, name));
    writeFileSync(join(cloud, `${name}.sha256`), `${execFileSync('sha256sum', [pve], { encoding: 'utf8' }).split(' ')[0] ?? ''}  ${name}\n`);
    const root = tempRoot();
    const result = await run(['--archive', name, '--categories', 'network', '--to', root]);
    expect(result.exitCode).toBe(0);
    expect(existsSync(join(root, 'etc/network/interfaces'))).toBe(true);
    expect(readdirSync(join(sandbox.baseDir, 'restore-safety')).filter((n) => n.startsWith('download-'))).toEqual([]);
  });
});
