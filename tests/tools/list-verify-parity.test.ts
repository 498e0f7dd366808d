// list and verify, bash vs ts (issue 19 tool parity, restore.md §2, §10): `legacy/bin/proxmox-restore list|verify`
// and the native tools (dist/native/cli/main.js list|verify) on the same inputs — three tiers (two directories and
// a real rclone remote of type local), archives made by a kept backup run and by GNU tar for each compressor,
// damaged, mislabelled, encrypted and hostile ones — give the same exit code, stdout and stderr, line for line
// (timestamps aside). And bin/switch-mode routes both by the cli flag.
import { execFileSync } from 'node:child_process';
import {
  appendFileSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { appendConfig, legacyRunCopy, REPO, type Sandbox } from '../legacy/run.js';
import { setCliFlag } from './cli-flag.js';

const IDENTITY = join(REPO, 'parity', 'age-test.key');
const RECIPIENT = /public key: (age1\S+)/.exec(readFileSync(IDENTITY, 'utf8'))?.[1] ?? '';
const FORGE = join(REPO, 'tests', 'restore', 'forge-tar.py');

let sandbox: Sandbox;
let plain: string;                    // a backup run's archive (pve-single, xz) with both sidecars
const secondary = mkdtempSync(join(tmpdir(), 'pbk-lv-secondary-'));
const cloud = mkdtempSync(join(tmpdir(), 'pbk-lv-cloud-'));
const work = mkdtempSync(join(tmpdir(), 'pbk-lv-work-'));

const env = (extra: Record<string, string> = {}): Record<string, string> => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin', BASE_DIR: sandbox.baseDir, TZ: 'UTC', LC_ALL: 'C.UTF-8', TMPDIR: join(sandbox.baseDir, 'tmp'),
  RCLONE_CONFIG: join(sandbox.baseDir, 'rclone.conf'), ...extra,
});

interface Result { exitCode: number; stdout: string; stderr: string }

const normalise = (text: string): string => text.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /gm, '');

async function side(which: 'bash' | 'ts', args: string[], extra: Record<string, string> = {}): Promise<Result> {
  const argv = which === 'bash'
    ? [join(REPO, 'legacy', 'bin', 'proxmox-restore'), ...args]
    : [process.execPath, join(REPO, 'dist', 'native', 'cli', 'main.js'), ...args];
  const result = await execa(argv[0] ?? '', argv.slice(1), { reject: false, extendEnv: false, env: env(extra), encoding: 'buffer', timeout: 120_000, stdin: 'ignore', stripFinalNewline: false });
  return {
    exitCode: result.exitCode ?? -1,
    stdout: normalise(Buffer.from(result.stdout as Uint8Array).toString('utf8')),
    stderr: normalise(Buffer.from(result.stderr as Uint8Array).toString('utf8')),
  };
}

/** Both sides on the same arguments: the same exit code, stdout and stderr. */
async function same(args: string[], extra: Record<string, string> = {}): Promise<Result> {
  const bash = await side('bash', args, extra);
  const ts = await side('ts', args, extra);
  expect({ args, ...ts }).toEqual({ args, ...bash });
  return ts;
}

const sha256 = (file: string): string => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0] ?? '';
const base = (path: string): string => path.split('/').pop() ?? '';

function sidecar(archive: string, hash = sha256(archive)): void {
  writeFileSync(`${archive}.sha256`, `${hash}  ${base(archive)}\n`);
}

/** A small tree (etc/ with a file and a link, the in-archive metadata file) as a GNU tar archive in DIR. */
function tarArchive(dir: string, name: string, compressor: string[] | undefined): string {
  const src = mkdtempSync(join(work, 'src-'));
  mkdirSync(join(src, 'etc', 'pve'), { recursive: true });
  mkdirSync(join(src, 'var', 'lib', 'proxmox-backup-info'), { recursive: true });
  writeFileSync(join(src, 'etc', 'pve', 'storage.cfg'), 'dir: local\n\tpath /var/lib/vz\n');
  writeFileSync(join(src, 'etc', 'hostname'), 'other\n');
  symlinkSync('hostname', join(src, 'etc', 'name'));
  writeFileSync(join(src, 'var', 'lib', 'proxmox-backup-info', 'backup_metadata.txt'), 'BACKUP_TYPE=pve\nFILES_INCLUDED=4\n');
  writeFileSync(join(src, 'etc', 'pve', 'storage.cfg.sha256'), 'x\n');
  const tarFile = join(work, `${name}.plain`);
  execFileSync('tar', ['-C', src, '--format=pax', '--sort=name', '-cf', tarFile, '.']);
  const out = join(dir, name);
  if (compressor === undefined) copyFileSync(tarFile, out);
  else writeFileSync(out, execFileSync(compressor[0] ?? 'cat', [...compressor.slice(1), '-c', tarFile], { maxBuffer: 1 << 26 }));
  sidecar(out);
  return out;
}

function metadata(archive: string, lines: Record<string, string>): void {
  writeFileSync(`${archive}.metadata`, Object.entries(lines).map(([k, v]) => `${k}=${v}\n`).join(''));
}

beforeAll(async () => {
  const run = await legacyRunCopy('pve-single', { COMPRESSION_TYPE: 'xz', COMPRESSION_LEVEL: '6' });   // shared with two files
  sandbox = run.sandbox;
  expect(run.exitCode).toBe(0);
  const name = readdirSync(sandbox.backupDir).find((n) => n.endsWith('.tar.xz'));
  if (name === undefined) throw new Error('no archive');
  plain = join(sandbox.backupDir, name);
  // a foreign host's archive (GNU tar, gzip) beside it, and junk the list ignores
  const foreign = tarArchive(sandbox.backupDir, 'pbs-backup-other.host-2024-11-24_03-00-00.tar.gz', ['gzip', '-n']);
  metadata(foreign, { COMPRESSION_TYPE: 'gzip', FILES_INCLUDED: '4', ENCRYPTED: 'false' });
  writeFileSync(join(sandbox.backupDir, 'pve-backup-pve1.lab.example-2024-11-20_02-00-00.tar.xz.tmp'), 'partial');
  writeFileSync(join(sandbox.backupDir, 'pve-backup-gone-2024-11-19_02-00-00.tar.xz.sha256'), `${'0'.repeat(64)}  x\n`);
  writeFileSync(join(sandbox.backupDir, 'notes.txt'), 'hello');
  mkdirSync(join(sandbox.backupDir, 'dual-backup-dir-2024-11-18_02-00-00.tar'));
  // secondary: a copy of the backup-run archive with an unparsable sidecar, and one whose content was damaged
  for (const suffix of ['', '.metadata']) copyFileSync(`${plain}${suffix}`, join(secondary, `${name}${suffix}`));
  writeFileSync(join(secondary, `${name}.sha256`), 'not a checksum line\n');
  const damaged = tarArchive(secondary, 'dual-backup-dual.lab-2024-11-23_02-00-00.tar.zst', ['zstd', '-q']);
  writeFileSync(damaged, Buffer.concat([readFileSync(damaged), Buffer.from('tail')]));
  // the cloud: a real rclone remote (type local): an encrypted archive with a good sidecar, one with a wrong one,
  // one without any
  const enc = tarArchive(cloud, 'pve-backup-pve1.lab.example-2024-11-22_02-00-00.tar.zst', ['zstd', '-q']);
  execFileSync('age', ['-r', RECIPIENT, '-o', `${enc}.age`, enc]);
  renameSync(`${enc}.sha256`, join(work, 'unused.sha256'));
  execFileSync('rm', ['-f', enc]);
  sidecar(`${enc}.age`);
  metadata(`${enc}.age`, { ENCRYPTED: 'true', COMPRESSION_TYPE: 'zstd', FILES_INCLUDED: '4' });
  const wrong = tarArchive(cloud, 'unknown-backup-x-2024-11-21_02-00-00.tar', undefined);
  sidecar(wrong, 'f'.repeat(64));
  tarArchive(cloud, 'pbs-backup-y-2024-11-21_02-00-00.tar.bz2', ['bzip2']);
  execFileSync('rm', ['-f', join(cloud, 'pbs-backup-y-2024-11-21_02-00-00.tar.bz2.sha256')]);
  writeFileSync(join(sandbox.baseDir, 'rclone.conf'), '[lv-cloud]\ntype = local\n\n[lv-down]\ntype = webdav\nurl = http://127.0.0.1:9/\n');
  appendConfig(sandbox, { ENABLE_SECONDARY_BACKUP: 'true', SECONDARY_BACKUP_PATH: secondary, ENABLE_CLOUD_BACKUP: 'true',
    RCLONE_REMOTE: 'lv-cloud', CLOUD_BACKUP_PATH: cloud, SECONDARY_LOG_PATH: join(secondary, 'log'), CLOUD_LOG_PATH: `${cloud}/log` });
}, 300_000);

/** A config file beside the sandbox's with more keys (the sandbox's own lines first). */
function configWith(extra: Record<string, string>): string {
  const file = join(work, `backup-${Object.keys(extra).join('-')}.env`);
  writeFileSync(file, readFileSync(sandbox.configPath, 'utf8') + Object.entries(extra).map(([k, v]) => `${k}="${v}"\n`).join(''), { mode: 0o600 });
  return file;
}

describe('list: bash and ts agree (restore.md §2)', () => {
  it('three tiers: table, --json, --check, --tier', async () => {
    const table = await same(['list']);
    expect(table.exitCode).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^TIER +DATE +TYPE +HOST +SIZE +ENC +SHA256 +NAME$/);
    expect(table.stdout).toContain('other.host');
    const json = await same(['list', '--json']);
    const parsed = JSON.parse(json.stdout) as { archives: { tier: string; sha256: string }[] };
    expect(parsed.archives.map((a) => a.tier)).toEqual(['local', 'secondary', 'local', 'secondary', 'cloud', 'cloud', 'cloud']);
    const checked = await same(['list', '--check', '--json']);
    expect((JSON.parse(checked.stdout) as typeof parsed).archives.map((a) => a.sha256))
      .toEqual(['ok', 'invalid', 'ok', 'mismatch', 'ok', 'missing', 'mismatch']);
    await same(['list', '--check']);
    for (const tier of ['local', 'secondary', 'cloud', 'all']) await same(['list', '--tier', tier]);
    await same(['list', '--tier=cloud', '--check', '-v']);
  });

  it('an empty tier, a missing directory, a broken remote, a disabled tier', async () => {
    const emptyConfig = configWith({ SECONDARY_BACKUP_PATH: mkdtempSync(join(work, 'empty-')), LOCAL_BACKUP_PATH: mkdtempSync(join(work, 'empty-')) });
    const none = await same(['list', '--tier', 'secondary', '--config', emptyConfig]);
    expect(none.stderr).toBe('[INFO] No archives found\n');
    expect(none.stdout).toBe('');
    expect((await same(['list', '--json', '--tier', 'local', '--config', emptyConfig])).stdout).toBe('{\n  "archives": [],\n  "errors": []\n}\n');
    const missing = await same(['list', '--json', '--config', configWith({ SECONDARY_BACKUP_PATH: join(work, 'nowhere') })]);
    expect(missing.exitCode).toBe(1);
    const down = await same(['list', '--config', configWith({ RCLONE_REMOTE: 'lv-down', CLOUD_LIST_TIMEOUT: '5' })]);
    expect(down.exitCode).toBe(1);
    expect(down.stderr).toMatch(/^\[WARNING\] Cannot list cloud: .+/m);
    await same(['list', '--json', '--config', configWith({ RCLONE_REMOTE: 'lv-undefined' })]);
    // A remote that accepts and never answers: rclone's own retries outlast the bound (1 + 5 s), it is ended before
    // it prints a word, and both sides say so (storage.md §11) rather than "unknown error".
    const stuck = createServer(() => undefined);
    const held: Socket[] = [];
    stuck.on('connection', (socket) => held.push(socket));
    await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = stuck.address() as AddressInfo;
      appendFileSync(join(sandbox.baseDir, 'rclone.conf'), `\n[lv-stuck]\ntype = webdav\nurl = http://127.0.0.1:${port}/\n`);
      const stalled = await same(['list', '--tier', 'cloud', '--config', configWith({ RCLONE_REMOTE: 'lv-stuck', CLOUD_LIST_TIMEOUT: '1' })]);
      expect(stalled.stderr).toMatch(/^\[WARNING\] Cannot list cloud: rclone did not finish within 6 s$/m);
    } finally {
      for (const socket of held) socket.destroy();
      stuck.close();
    }
    const disabled = await same(['list', '--tier', 'cloud', '--config', configWith({ ENABLE_CLOUD_BACKUP: 'false' })]);
    expect(disabled.exitCode).toBe(2);
    expect(disabled.stdout).toBe('');
    expect(disabled.stderr).toBe('[ERROR] Tier cloud is not enabled\n');
  });

  it('usage: unknown option, unknown tier, --tier without a value, --help, a bad config', async () => {
    expect((await same(['list', '--bogus'])).exitCode).toBe(2);
    expect((await same(['list', 'extra'])).exitCode).toBe(2);
    expect((await same(['list', '--tier', 'moon'])).exitCode).toBe(2);
    expect((await same(['list', '--tier'])).exitCode).toBe(2);
    expect((await same(['list', '--config'])).exitCode).toBe(2);
    const help = await same(['list', '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^Usage: proxmox-restore list/);
    await same(['list', '--bogus', '-h']);
    expect((await same(['list', '--config', configWith({ COMPRESSION_LEVEL: 'high' })])).exitCode).toBe(2);
  });
});

describe('verify: bash and ts agree (restore.md §10)', () => {
  it('good archives: the backup run\'s, one per compressor, by path and by name on each tier', async () => {
    const good = await same(['verify', plain]);
    expect(good.exitCode).toBe(0);
    expect(good.stdout).toContain('[SUCCESS] Archive verified');
    const dir = mkdtempSync(join(work, 'each-'));
    for (const [suffix, compressor] of [['.tar', undefined], ['.tar.gz', ['gzip', '-n']], ['.tar.bz2', ['bzip2']],
      ['.tar.xz', ['xz']], ['.tar.lzma', ['xz', '--format=lzma']], ['.tar.zst', ['zstd', '-q']]] as const) {
      const archive = tarArchive(dir, `pve-backup-each-2024-11-25_02-00-00${suffix}`, compressor === undefined ? undefined : [...compressor]);
      const result = await same(['verify', archive]);
      expect(result.stdout).toContain('[SUCCESS] Archive read: 11 entries (4 files, 1 symlinks, 0 hard links, 6 directories), 70 B of file data');
      metadata(archive, { FILES_INCLUDED: '4', COMPRESSION_TYPE: suffix === '.tar.gz' ? 'pigz' : 'x', ENCRYPTED: 'false' });
      await same(['verify', archive]);
    }
    await same(['verify', base(plain)]);
    await same(['verify', 'dual-backup-dual.lab-2024-11-23_02-00-00.tar.zst']);   // secondary
    const fetched = await same(['verify', 'unknown-backup-x-2024-11-21_02-00-00.tar']);   // cloud: downloaded, mismatch
    expect(fetched.exitCode).toBe(2);
    expect(readdirSync(join(sandbox.baseDir, 'restore-safety'))).toEqual([]);
    expect((await same(['verify', 'pbs-backup-y-2024-11-21_02-00-00.tar.bz2'])).exitCode).toBe(1);   // cloud, no sidecar
  });

  it('truncated, mislabelled, trailing garbage, wrong metadata, a bad header', async () => {
    const dir = mkdtempSync(join(work, 'bad-'));
    const truncated = join(dir, base(plain));
    copyFileSync(plain, truncated);
    copyFileSync(`${plain}.metadata`, `${truncated}.metadata`);
    sidecar(truncated);
    truncateSync(truncated, 3000);
    expect((await same(['verify', truncated])).stdout).toContain('[ERROR] Checksum mismatch for ');
    sidecar(truncated);   // a sidecar made after the damage: the read fails instead
    const corrupt = await same(['verify', truncated]);
    expect(corrupt.stdout).toMatch(/\[ERROR\] Archive is corrupt: .+\n\[ERROR\] Archive verification failed\n$/);
    const plainTar = tarArchive(dir, 'pve-backup-cut-2024-11-25_02-00-00.tar', undefined);
    truncateSync(plainTar, 1536 + 100);
    sidecar(plainTar);
    expect((await same(['verify', plainTar])).stdout).toContain('[ERROR] Archive is corrupt: unexpected end of archive');
    const flipped = tarArchive(dir, 'pve-backup-flip-2024-11-25_02-00-00.tar', undefined);
    const bytes = readFileSync(flipped);
    bytes[5] = 0x41;   // inside the first header's name: its checksum no longer matches
    writeFileSync(flipped, bytes);
    sidecar(flipped);
    expect((await same(['verify', flipped])).stdout).toContain('[ERROR] Archive is corrupt: bad header checksum');
    const garbage = tarArchive(dir, 'pve-backup-tail-2024-11-25_02-00-00.tar.gz', ['gzip', '-n']);
    writeFileSync(garbage, Buffer.concat([readFileSync(garbage), Buffer.from('trailing garbage')]));
    sidecar(garbage);
    await same(['verify', garbage]);
    const mislabelled = tarArchive(dir, 'pve-backup-label-2024-11-25_02-00-00.tar.xz', ['gzip', '-n']);
    await same(['verify', mislabelled]);
    const wrongMeta = tarArchive(dir, 'pve-backup-meta-2024-11-25_02-00-00.tar.zst', ['zstd', '-q']);
    for (const [key, v] of [['FILES_INCLUDED', '9999'], ['UNCOMPRESSED_SIZE', '1'], ['ENCRYPTED', 'true'], ['COMPRESSION_TYPE', 'xz'], ['SHA256', 'ab\tc']] as const) {
      metadata(wrongMeta, { [key]: v });
      expect((await same(['verify', wrongMeta])).stdout).toContain(`[ERROR] Metadata mismatch: ${key} is `);
    }
    metadata(wrongMeta, { FILES_INCLUDED: '4' });   // upstream-style: absent keys are skipped (legacy died here with 1)
    expect((await same(['verify', wrongMeta])).exitCode).toBe(0);
    writeFileSync(`${wrongMeta}.sha256`, 'garbage\n');
    await same(['verify', wrongMeta]);
  });

  it('encrypted: no identity, the right one, a wrong one, an unreadable one, a bad header', async () => {
    const enc = join(cloud, 'pve-backup-pve1.lab.example-2024-11-22_02-00-00.tar.zst.age');
    expect((await same(['verify', enc])).exitCode).toBe(1);
    expect((await same(['verify', enc, '--identity', IDENTITY])).exitCode).toBe(0);
    const wrongKey = join(mkdtempSync(join(work, 'age-')), 'wrong.key');
    execFileSync('age-keygen', ['-o', wrongKey], { stdio: 'ignore' });
    expect((await same(['verify', enc, '--identity', wrongKey])).stdout).toContain(': no identity matches');
    expect((await same(['verify', enc, `--identity=${wrongKey}`, '--identity', IDENTITY])).exitCode).toBe(0);
    expect((await same(['verify', enc, '--identity', join(work, 'absent.key')])).exitCode).toBe(2);
    const damaged = join(mkdtempSync(join(work, 'agebad-')), base(enc));
    const bytes = readFileSync(enc);
    writeFileSync(damaged, Buffer.concat([bytes.subarray(0, bytes.length - 40), Buffer.alloc(40, 1)]));
    expect((await same(['verify', damaged, '--identity', IDENTITY])).stdout).toContain(': archive is damaged');
    const fake = join(mkdtempSync(join(work, 'fake-')), 'pve-backup-fake-2024-11-25_02-00-00.tar.age');
    writeFileSync(fake, 'not age at all\n');
    expect((await same(['verify', fake])).stdout).toContain('[ERROR] Encrypted archive header invalid');
    const plainWithKey = await same(['verify', plain, '--identity', join(work, 'absent.key')]);   // ignored on a plain archive
    expect(plainWithKey.exitCode).toBe(0);
  });

  it('hostile entries: absolute, parent, through a symlink, special files, hard links, unsupported types', async () => {
    const dir = mkdtempSync(join(work, 'hostile-'));
    const archive = join(dir, 'pve-backup-evil-2024-11-25_02-00-00.tar');
    const entries = [
      { name: './etc', type: 'dir' }, { name: './etc/ok.cfg', data: 'fine\n' }, { name: '/etc/evil', data: 'x' },
      { name: '../escape', data: 'x' }, { name: './a', type: 'symlink', link: '/etc' }, { name: './a/passwd', data: 'root::0:0\n' },
      { name: './fifo', type: 'fifo' }, { name: './tty', type: 'char' }, { name: './hl', type: 'hardlink', link: '../../etc/shadow' },
      { name: './hl2', type: 'hardlink', link: 'etc/nothing' }, { name: './hl3', type: 'hardlink', link: './etc/ok.cfg' },
      { name: './c', type: 'contig', data: 'contiguous\n' }, { name: `./${'n'.repeat(300)}`, data: 'long\n' },
      { name: './bad\u0001name\u00e9', data: 'ctl\n' },
    ];
    execFileSync('python3', [FORGE, archive], { input: JSON.stringify(entries) });
    sidecar(archive);
    const result = await same(['verify', archive]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('[WARNING] Unsafe entry ./a/passwd: path goes through a symlink from the archive');
    const gnu = join(dir, 'pve-backup-gnu-2024-11-25_02-00-00.tar');
    execFileSync('python3', [FORGE, gnu, 'gnu'], { input: JSON.stringify([{ name: `./${'d/'.repeat(80)}f`, data: 'deep\n' }, { name: '/abs', data: 'x' }]) });
    await same(['verify', gnu]);
    const pax = join(dir, 'pve-backup-pax-2024-11-25_02-00-00.tar');
    execFileSync('python3', [FORGE, pax], { input: JSON.stringify([{ name: './big', data: 'x', pax: { comment: 'y'.repeat(1_100_000) } }]) });
    expect((await same(['verify', pax])).stdout).toContain('[ERROR] Archive is corrupt: pax header over 1 MiB');
  });

  it('usage and lookups: missing file, unknown name, unknown format, unknown option, two archives, none, --help', async () => {
    expect((await same(['verify', join(work, 'pve-backup-nope-2024-01-01_00-00-00.tar.xz')])).exitCode).toBe(2);
    expect((await same(['verify', 'pve-backup-nope-2024-01-01_00-00-00.tar.xz'])).stdout)
      .toBe('[ERROR] Archive not found: pve-backup-nope-2024-01-01_00-00-00.tar.xz\n');
    await same(['verify', '/tmp/whatever.zip']);
    await same(['verify', 'notes.txt']);   // a bare name in the local tier: read as a plain tar
    expect((await same(['verify', plain, '--bogus'])).exitCode).toBe(2);
    expect((await same(['verify', plain, plain])).exitCode).toBe(2);
    expect((await same(['verify'])).exitCode).toBe(2);
    expect((await same(['verify', '--identity'])).exitCode).toBe(2);
    expect((await same(['verify', '-h'])).exitCode).toBe(0);
    await same(['verify', plain, '-x']);
  });
});

describe('bin/switch-mode routes list and verify by the cli flag', () => {
  it('cli=ts runs the native tools, cli=bash the legacy ones', async () => {
    const install = mkdtempSync(join(tmpdir(), 'pbk-lv-install-'));
    for (const part of ['bin', 'legacy', 'shims', 'VERSION', 'flags.json']) cpSync(join(REPO, part), join(install, part), { recursive: true, verbatimSymlinks: true });
    symlinkSync(join(REPO, 'dist'), join(install, 'dist'));
    symlinkSync(join(REPO, 'node_modules'), join(install, 'node_modules'));
    // Proof by absence: without the legacy tool only the native one can answer.
    renameSync(join(install, 'legacy', 'bin', 'proxmox-restore'), join(install, 'legacy', 'bin', 'proxmox-restore.off'));
    const launcher = join(install, 'bin', 'switch-mode');
    const asBash = await execa(launcher, ['list'], { reject: false, extendEnv: false, env: env() });
    expect(asBash.exitCode).not.toBe(0);
    // the flags of BASE_DIR (the sandbox): cli on ts
    setCliFlag(sandbox.baseDir, 'ts', install);
    const list = await execa(launcher, ['list', '--tier', 'local'], { reject: false, extendEnv: false, env: env() });
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toContain(base(plain));
    const verify = await execa(launcher, ['verify', plain], { reject: false, extendEnv: false, env: env() });
    expect(verify.exitCode).toBe(0);
    expect(verify.stdout).toContain('[SUCCESS] Archive verified');
    rmSync(join(sandbox.baseDir, 'flags.json'));
  });
});
