// restore, bash vs ts (issue 20, restore.md §3-§9): `legacy/bin/proxmox-restore restore` and the native tool
// (dist/native/cli/main.js restore) on the same archive and the same target tree, one after the other at the same
// pinned clock: the same exit code, stdout and stderr (timestamps aside), the same restore log file, the same
// safety backup (its member list), and the same restored tree (type, mode, owner, mtime, size, content, link).
// Archives: a legacy backup run's and a native one's (each side restores both), GNU tar for every compressor,
// an age-encrypted one (parity/age-test.key), a hostile one.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostEnv, legacyRunCopy, makeSandbox, PBK_NOW, REPO, type Sandbox } from '../legacy/run.js';
import { forge, snapshot } from '../restore/plan-legacy.js';

const IDENTITY = join(REPO, 'parity', 'age-test.key');
const RECIPIENT = /public key: (age1\S+)/.exec(readFileSync(IDENTITY, 'utf8'))?.[1] ?? '';

let sandbox: Sandbox;
const work = mkdtempSync(join(tmpdir(), 'pbk-rp-work-'));
const archives: Record<string, string> = {};

const sha256 = (file: string): string => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0] ?? '';
const sidecar = (archive: string): void => writeFileSync(`${archive}.sha256`, `${sha256(archive)}  ${archive.split('/').pop() ?? ''}\n`);

/** A tree with every entry type and metadata the writer sets, as a GNU tar (pax) archive, compressed by ARGV. */
function tarArchive(name: string, argv: string[] | undefined): string {
  const src = mkdtempSync(join(work, 'src-'));
  for (const d of ['etc/network', 'etc/pve/nodes/n1/qemu-server', 'etc/ssh', 'usr/local/bin', 'root', 'var/lib/proxmox-backup-info']) mkdirSync(join(src, d), { recursive: true });
  writeFileSync(join(src, 'etc/network/interfaces'), 'auto lo\niface lo inet loopback\n');
  writeFileSync(join(src, 'etc/hosts'), '127.0.0.1 localhost\n');
  writeFileSync(join(src, 'etc/pve/nodes/n1/qemu-server/100.conf'), 'memory: 2048\n');
  writeFileSync(join(src, 'etc/pve/storage.cfg'), 'dir: local\n');
  writeFileSync(join(src, 'etc/ssh/sshd_config'), 'PermitRootLogin no\n');
  writeFileSync(join(src, 'usr/local/bin/tool'), '#!/bin/sh\n');
  chmodSync(join(src, 'usr/local/bin/tool'), 0o4755);
  symlinkSync('tool', join(src, 'usr/local/bin/tool-link'));
  execFileSync('ln', [join(src, 'usr/local/bin/tool'), join(src, 'usr/local/bin/tool-hard')]);
  writeFileSync(join(src, 'root', `${'n'.repeat(250)}.txt`), 'a long name\n');
  writeFileSync(join(src, 'var/lib/proxmox-backup-info/backup_metadata.txt'), 'BACKUP_TYPE=pve\n');
  chmodSync(join(src, 'etc/ssh'), 0o700);
  execFileSync('find', [src, '-exec', 'touch', '-h', '-d', '@1700000000', '{}', '+']);
  const plain = join(work, `${name}.plain`);
  execFileSync('tar', ['-C', src, '--format=pax', '--sort=name', '--numeric-owner', '-cf', plain, '.']);
  const out = join(work, 'archives', name);
  mkdirSync(join(work, 'archives'), { recursive: true });
  writeFileSync(out, argv === undefined ? readFileSync(plain) : execFileSync(argv[0] ?? 'cat', [...argv.slice(1), '-c', plain], { maxBuffer: 1 << 26 }));
  sidecar(out);
  return out;
}

beforeAll(async () => {
  const run = await legacyRunCopy('pve-single', { COMPRESSION_TYPE: 'xz', COMPRESSION_LEVEL: '6' });   // shared with two files
  sandbox = run.sandbox;
  expect(run.exitCode).toBe(0);
  const legacyName = readdirSync(sandbox.backupDir).find((n) => n.endsWith('.tar.xz')) ?? '';
  mkdirSync(join(work, 'legacy-made'));
  for (const s of ['', '.sha256']) cpSync(join(sandbox.backupDir, `${legacyName}${s}`), join(work, 'legacy-made', `${legacyName}${s}`));
  archives['legacy-made'] = join(work, 'legacy-made', legacyName);
  const other = makeSandbox({ COMPRESSION_TYPE: 'zstd', COMPRESSION_LEVEL: '3' });
  const native = await execa(join(REPO, 'bin', 'switch-mode'), ['run-backup', '--flag', 'orchestrator=ts', '--flag', 'backup=ts'],
    { env: hostEnv('pve-single', other), extendEnv: false, reject: false, timeout: 240_000 });
  expect(native.exitCode).toBe(0);
  const nativeName = readdirSync(other.backupDir).find((n) => n.endsWith('.tar.zst')) ?? '';
  mkdirSync(join(work, 'native-made'));
  for (const s of ['', '.sha256']) cpSync(join(other.backupDir, `${nativeName}${s}`), join(work, 'native-made', `${nativeName}${s}`));
  archives['native-made'] = join(work, 'native-made', nativeName);
  for (const [suffix, argv] of [['', undefined], ['.xz', ['xz']], ['.zst', ['zstd', '-q']], ['.gz', ['gzip', '-n']], ['.bz2', ['bzip2']],
    ['.lzma', ['xz', '--format=lzma']]] as const) {
    archives[`tar${suffix}`] = tarArchive(`pve-backup-other.host-2024-11-24_03-00-00.tar${suffix}`, argv === undefined ? undefined : [...argv]);
  }
  const enc = tarArchive('pve-backup-other.host-2024-11-23_03-00-00.tar.zst', ['zstd', '-q']);
  execFileSync('age', ['-r', RECIPIENT, '-o', `${enc}.age`, enc]);
  sidecar(`${enc}.age`);
  archives.age = `${enc}.age`;
  const hostile = join(work, 'archives', 'unknown-backup-evil-2024-11-22_03-00-00.tar');
  writeFileSync(hostile, forge([{ name: '/etc/x', data: 'x' }, { name: '../x', data: 'x' }, { name: 'a', type: 'symlink', link: '/' },
    { name: 'a/etc/passwd', data: 'p' }, { name: 'b/f', data: 'f' }, { name: 'fifo', type: 'fifo' }, { name: 'dev', type: 'char' },
    { name: 'suid', data: 's', mode: 0o4755 }, { name: 'h', type: 'hardlink', link: '../../etc/shadow' },
    { name: 'd', type: 'symlink', link: '/tmp/proxmox-backup-x/etc/nothing' }, { name: 'etc/hosts', data: 'one' }, { name: 'etc/hosts', data: 'two' }]));
  sidecar(hostile);
  archives.hostile = hostile;
}, 600_000);

interface Outcome { exitCode: number; stdout: string; stderr: string; log: string; safety: string; tree: string }

const stamp = (text: string): string => text.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /gm, '');

/** One side: ROOT rebuilt from SETUP, the restore run, what it left. */
async function side(which: 'bash' | 'ts', args: string[], setup: (root: string) => void, extraEnv: Record<string, string> = {}): Promise<Outcome> {
  const base = join(work, 'target');
  rmSync(base, { recursive: true, force: true });
  mkdirSync(join(base, 'root'), { recursive: true });
  mkdirSync(join(base, 'outside'));
  setup(join(base, 'root'));
  for (const dir of ['restore-safety', 'log']) rmSync(join(sandbox.baseDir, dir), { recursive: true, force: true });
  const since = Math.floor(Date.now() / 1000) - 1;
  const argv = which === 'bash' ? [join(REPO, 'legacy', 'bin', 'proxmox-restore'), 'restore', ...args]
    : [process.execPath, join(REPO, 'dist', 'native', 'cli', 'main.js'), 'restore', ...args];
  const result = await execa(argv[0] ?? '', argv.slice(1), {
    reject: false, extendEnv: false, stdin: 'ignore', encoding: 'buffer', timeout: 240_000, stripFinalNewline: false,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BASE_DIR: sandbox.baseDir, PBK_NOW, TZ: 'UTC', LC_ALL: 'C.UTF-8', TMPDIR: join(sandbox.baseDir, 'tmp'), ...extraEnv },
  });
  const logs = existsSync(sandbox.logDir) ? readdirSync(sandbox.logDir).filter((n) => n.startsWith('restore-')) : [];
  const safetyDir = join(sandbox.baseDir, 'restore-safety');
  const safety = existsSync(safetyDir) ? readdirSync(safetyDir).sort().map((n) => (n.endsWith('.tar.gz')
    ? `${n}\n${execFileSync('tar', ['-tvzf', join(safetyDir, n), '--numeric-owner'], { encoding: 'utf8' })}` : n)).join('\n') : '';
  return {
    exitCode: result.exitCode ?? -1,
    stdout: stamp(Buffer.from(result.stdout as Uint8Array).toString('utf8')),
    stderr: stamp(Buffer.from(result.stderr as Uint8Array).toString('utf8')),
    log: logs.map((n) => `${n}\n${stamp(readFileSync(join(sandbox.logDir, n), 'utf8'))}`).join(''),
    safety, tree: snapshot(base, since),
  };
}

async function same(args: string[], setup: (root: string) => void = () => undefined, extraEnv: Record<string, string> = {}): Promise<Outcome> {
  const bash = await side('bash', args, setup, extraEnv);
  const ts = await side('ts', args, setup, extraEnv);
  expect({ args, ...ts }).toEqual({ args, ...bash });
  return ts;
}

const root = (): string => join(work, 'target', 'root');

describe('restore: bash vs ts on the same archive and tree', () => {
  it('backup-run archives, each side restoring both sides\' archives, every category to an empty root', async () => {
    for (const made of ['legacy-made', 'native-made']) {
      const out = await same(['--archive', archives[made] ?? '', '--all', '--to', root()]);
      expect(out.exitCode).toBe(0);
      expect(out.tree).toContain('./root/etc/pve');
    }
  });

  it('every compressor and an encrypted archive (with and without --identity)', async () => {
    for (const key of ['tar', 'tar.xz', 'tar.zst', 'tar.gz', 'tar.bz2', 'tar.lzma']) {
      const out = await same(['--archive', archives[key] ?? '', '--all', '--to', root()]);
      expect(out.stdout).toContain('Cleared setuid/setgid on usr/local/bin/tool (mode 4755)');
    }
    expect((await same(['--archive', archives.age ?? '', '--all', '--to', root(), '--identity', IDENTITY])).exitCode).toBe(1);
    expect((await same(['--archive', archives.age ?? '', '--all', '--to', root()])).exitCode).toBe(2);
  });

  it('selected categories, dry-run, --list-categories with and without an archive', async () => {
    await same(['--archive', archives['tar.gz'] ?? '', '--categories', 'network,vm-configs,storage-stack', '--to', root()]);
    const dry = await same(['--archive', archives['legacy-made'] ?? '', '--all', '--dry-run', '--to', root()]);
    expect(dry.stdout).toContain('Dry run: would create');
    await same(['--archive', archives['legacy-made'] ?? '', '--list-categories', '--to', root()]);
    await same(['--list-categories']);
  });

  it('conflicts over an existing tree: the safety backup, replaced files and links, type conflicts', async () => {
    const out = await same(['--archive', archives['tar.xz'] ?? '', '--all', '--to', root()], (r) => {
      mkdirSync(join(r, 'etc/network'), { recursive: true });
      writeFileSync(join(r, 'etc/network/interfaces'), 'old\n');
      mkdirSync(join(r, 'etc/hosts'));
      writeFileSync(join(r, 'etc/ssh'), 'a file where a directory comes');
      mkdirSync(join(r, 'usr/local/bin'), { recursive: true });
      symlinkSync('/etc/passwd', join(r, 'usr/local/bin/tool'));
      execFileSync('touch', ['-h', '-d', '@1600000000', join(r, 'etc/network/interfaces'), join(r, 'usr/local/bin/tool')]);
    });
    expect(out.exitCode).toBe(1);
    expect(out.safety).toContain('./etc/network/interfaces');
    expect(out.stdout).toContain('Undo: bin/switch-mode restore --archive');
  });

  it('guarded categories: pmxcfs running on ROOT/etc/pve (refused with the stop commands; pve-config through it), config.db present', async () => {
    // A mountinfo naming a fuse mount on ROOT/etc/pve stands for a running pmxcfs (restore.md §5.3), as tests/restore does.
    const mountinfo = join(work, 'mountinfo');
    writeFileSync(mountinfo, `22 1 0:20 / /proc rw - proc proc rw\n61 25 0:52 / ${root()}/etc/pve rw,nosuid - fuse /dev/fuse rw\n`);
    const pve = archives['legacy-made'] ?? '';
    const withPve = (r: string): void => {
      mkdirSync(join(r, 'etc/pve'), { recursive: true });
    };
    const refused = await same(['--archive', pve, '--categories', 'pve-cluster', '--to', root()], withPve, { PBK_MOUNTINFO: mountinfo });
    expect(refused.exitCode).toBe(2);
    expect(refused.stdout).toContain('cannot be restored while pmxcfs is running');
    const through = await same(['--archive', pve, '--categories', 'pve-config', '--to', root()], withPve, { PBK_MOUNTINFO: mountinfo });
    expect(through.exitCode).toBe(0);
    expect((await same(['--archive', pve, '--categories', 'pve-cluster', '--dry-run', '--to', root()], withPve, { PBK_MOUNTINFO: mountinfo })).stdout)
      .toContain('would need pmxcfs stopped');
    const blocked = await same(['--archive', pve, '--categories', 'pve-config,pve-cluster', '--to', root()], (r) => {
      mkdirSync(join(r, 'var/lib/pve-cluster'), { recursive: true });
      writeFileSync(join(r, 'var/lib/pve-cluster/config.db'), 'old');
      writeFileSync(join(r, 'var/lib/pve-cluster/config.db-wal'), 'stale wal');
    });
    expect(blocked.stdout).toContain('is not a running pmxcfs; its content comes from config.db');
  });

  it('a hostile archive: every refusal, nothing outside ROOT', async () => {
    const out = await same(['--archive', archives.hostile ?? '', '--all', '--to', root()], (r) => symlinkSync('../outside', join(r, 'b')));
    expect(out.exitCode).toBe(1);
    expect(out.tree).not.toMatch(/\.\/outside\//);
  });

  it('refusals before writing: no archive, no categories, a bad checksum, a missing sidecar with and without --force', async () => {
    await same(['--all', '--to', root()]);
    await same(['--archive', archives.tar ?? '', '--to', root()]);
    await same(['--archive', archives.tar ?? '', '--categories', 'nope', '--to', root()]);
    await same(['--archive', archives.tar ?? '', '--all', '--to', join(root(), 'missing')]);
    const bad = join(work, 'archives', 'pve-backup-bad-2024-11-21_03-00-00.tar');
    cpSync(archives.tar ?? '', bad);
    writeFileSync(`${bad}.sha256`, `${'0'.repeat(64)}  ${bad.split('/').pop() ?? ''}\n`);
    await same(['--archive', bad, '--all', '--to', root()]);
    rmSync(`${bad}.sha256`);
    await same(['--archive', bad, '--all', '--to', root()]);
    await same(['--archive', bad, '--all', '--force', '--to', root()]);
    await same(['--bogus']);
  });
});
