// The read-only restore tools of the legacy side (restore.md §2, §3, §10, test scenarios 8 and 13): `list` over
// a directory tier, a secondary tier and a real rclone remote (type local) with two hosts, junk names, a .tmp and an
// orphan sidecar; `verify` on good, truncated, mislabelled, sidecar-less, encrypted and hostile archives.
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { appendConfig, legacyRunCopy, makeSandbox, REPO, runLegacy, type Sandbox } from '../legacy/run.js';

const TOOL = join(REPO, 'bin', 'switch-mode');
const IDENTITY = join(REPO, 'parity', 'age-test.key');
const RECIPIENT = /public key: (age1\S+)/.exec(readFileSync(IDENTITY, 'utf8'))?.[1] ?? '';

let sandbox: Sandbox;
let plain: string;       // pve-single, xz
let encrypted: string;   // pbs, zstd, age
const secondary = mkdtempSync(join(tmpdir(), 'pbk-restore-secondary-'));
const cloud = mkdtempSync(join(tmpdir(), 'pbk-restore-cloud-'));

function run(args: string[], extra: Record<string, string> = {}) {
  return execa(TOOL, args, {
    reject: false, extendEnv: false, stripFinalNewline: false,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BASE_DIR: sandbox.baseDir, TZ: 'UTC', LC_ALL: 'C.UTF-8', TMPDIR: join(sandbox.baseDir, 'tmp'),
      RCLONE_CONFIG: join(sandbox.baseDir, 'rclone.conf'), ...extra },
  });
}

const strip = (text: string): string[] => String(text).split('\n').filter((l) => l !== '').map((l) => l.replace(/^\S+ \S+ /, ''));

function archiveOf(dir: string, suffix: RegExp): string {
  const name = readdirSync(dir).find((n) => suffix.test(n));
  if (name === undefined) throw new Error(`no archive in ${dir}`);
  return join(dir, name);
}

/** A copy of an archive with its sidecars under another directory (a scratch to damage). */
function scratchCopy(archive: string, sidecars = ['.sha256', '.metadata']): string {
  const dir = mkdtempSync(join(tmpdir(), 'pbk-verify-'));
  const target = join(dir, archive.split('/').pop() ?? 'x');
  copyFileSync(archive, target);
  for (const s of sidecars) copyFileSync(`${archive}${s}`, `${target}${s}`);
  return target;
}

beforeAll(async () => {
  const run = await legacyRunCopy('pve-single', { COMPRESSION_TYPE: 'xz', COMPRESSION_LEVEL: '6' });   // shared with two files
  sandbox = run.sandbox;
  expect(run.exitCode).toBe(0);
  plain = archiveOf(sandbox.backupDir, /\.tar\.xz$/);
  // a second host's encrypted backup into the same directory
  const other = makeSandbox({ COMPRESSION_TYPE: 'zstd', ENCRYPT_ARCHIVE: 'true', AGE_RECIPIENTS: RECIPIENT, LOCAL_BACKUP_PATH: sandbox.backupDir });
  expect((await runLegacy('pbs', other, [], { PBK_NOW: '1732413600' })).exitCode).toBeLessThan(2);
  encrypted = archiveOf(sandbox.backupDir, /\.tar\.zst\.age$/);
  // junk the list must ignore: a temp file, an orphan sidecar, a foreign name
  writeFileSync(join(sandbox.backupDir, 'pve-backup-pve1.lab.example-2024-11-20_02-00-00.tar.xz.tmp'), 'partial');
  writeFileSync(join(sandbox.backupDir, 'pve-backup-gone-2024-11-19_02-00-00.tar.xz.sha256'), `${'0'.repeat(64)}  x\n`);
  writeFileSync(join(sandbox.backupDir, 'notes.txt'), 'hello');
  // the secondary tier: a copy of the plain archive, its sidecar damaged (invalid)
  for (const suffix of ['', '.metadata']) copyFileSync(`${plain}${suffix}`, join(secondary, `${plain.split('/').pop() ?? ''}${suffix}`));
  writeFileSync(join(secondary, `${plain.split('/').pop() ?? ''}.sha256`), 'not a checksum line\n');
  // the cloud tier: a real rclone remote (type local) holding the encrypted archive, its content damaged
  const name = encrypted.split('/').pop() ?? '';
  for (const suffix of ['.sha256', '.metadata']) copyFileSync(`${encrypted}${suffix}`, join(cloud, `${name}${suffix}`));
  writeFileSync(join(cloud, name), Buffer.concat([readFileSync(encrypted).subarray(0, 200), Buffer.from('flipped')]));
  writeFileSync(join(sandbox.baseDir, 'rclone.conf'), '[restore-cloud]\ntype = local\n\n[restore-down]\ntype = webdav\nurl = http://127.0.0.1:9/\n');
  appendConfig(sandbox, { ENABLE_SECONDARY_BACKUP: 'true', SECONDARY_BACKUP_PATH: secondary, ENABLE_CLOUD_BACKUP: 'true',
    RCLONE_REMOTE: 'restore-cloud', CLOUD_BACKUP_PATH: cloud, SECONDARY_LOG_PATH: join(secondary, 'log'), CLOUD_LOG_PATH: `${cloud}/log` });
}, 180_000);

describe('list (restore.md §2)', () => {
  it('prints every archive of every host on every tier, newest first, then by tier', async () => {
    const result = await run(['list']);
    expect(result.exitCode).toBe(0);
    const plainName = plain.split('/').pop() ?? '';
    const encName = encrypted.split('/').pop() ?? '';
    expect(result.stdout.trimEnd().split('\n').map((l) => l.replace(/\s+/g, ' '))).toEqual([
      'TIER DATE TYPE HOST SIZE ENC SHA256 NAME',
      expect.stringMatching(new RegExp(`^local 2024-11-25 02:00:00 pve pve1\\.lab\\.example [0-9.]+ KiB no present ${plainName.replace(/\./g, '\\.')}$`)),
      expect.stringMatching(new RegExp(`^secondary 2024-11-25 02:00:00 pve pve1\\.lab\\.example [0-9.]+ KiB no invalid ${plainName.replace(/\./g, '\\.')}$`)),
      expect.stringMatching(new RegExp(`^local 2024-11-24 02:00:00 pbs \\S+ [0-9.]+ KiB yes present ${encName.replace(/\./g, '\\.')}$`)),
      expect.stringMatching(new RegExp(`^cloud 2024-11-24 02:00:00 pbs \\S+ 207 B yes present ${encName.replace(/\./g, '\\.')}$`)),
    ]);
    // columns are aligned: NAME starts at the same offset on every line
    const offsets = result.stdout.trimEnd().split('\n').map((l) => l.lastIndexOf(' ') + 1);
    expect(new Set(offsets).size).toBe(1);
  });

  it('--check hashes local copies and compares the cloud sidecar with the remote hash; --json has the documented shape', async () => {
    const result = await run(['list', '--check', '--json']);
    expect(result.exitCode).toBe(0);
    const parsed = JSON.parse(result.stdout) as { archives: Record<string, unknown>[]; errors: unknown[] };
    expect(result.stdout).toBe(`${JSON.stringify(parsed, null, 2)}\n`);
    expect(parsed.archives.map((a) => [a.tier, a.sha256, a.encrypted, a.compression, a.metadata])).toEqual([
      ['local', 'ok', false, 'xz', true], ['secondary', 'invalid', false, 'xz', true],
      ['local', 'ok', true, 'zstd', true], ['cloud', 'mismatch', true, 'zstd', true],
    ]);
    expect(Object.keys(parsed.archives[0] ?? {})).toEqual(['tier', 'name', 'location', 'timestamp', 'type', 'host', 'compression', 'encrypted',
      'size_bytes', 'sha256', 'metadata']);
    expect(parsed.archives[3]?.location).toBe(`restore-cloud:${cloud}/${encrypted.split('/').pop() ?? ''}`);
    expect(parsed.errors).toEqual([]);
  });

  it('a tier that cannot be read is a warning and an errors item; the others are still listed (exit 1)', async () => {
    const result = await run(['list', '--json']);   // the remote reachable first: exit 0
    expect(result.exitCode).toBe(0);
    appendFileSync(sandbox.configPath, 'RCLONE_REMOTE="restore-down"\nCLOUD_LIST_TIMEOUT="5"\n');
    try {
      const down = await run(['list', '--json']);
      expect(down.exitCode).toBe(1);
      const parsed = JSON.parse(down.stdout) as { archives: { tier: string }[]; errors: { tier: string; message: string }[] };
      expect(parsed.archives.map((a) => a.tier)).toEqual(['local', 'secondary', 'local']);
      expect(parsed.errors).toEqual([{ tier: 'cloud', message: expect.stringMatching(/.+/) }]);
      expect(strip(down.stderr)).toEqual([expect.stringMatching(/^\[WARNING\] Cannot list cloud: .+/)]);
      const named = await run(['list', '--tier', 'local']);
      expect(named.exitCode).toBe(0);
      expect(named.stdout.trimEnd().split('\n').slice(1).every((l) => l.startsWith('local '))).toBe(true);
    } finally {
      writeFileSync(sandbox.configPath, readFileSync(sandbox.configPath, 'utf8').replace('RCLONE_REMOTE="restore-down"\nCLOUD_LIST_TIMEOUT="5"\n', ''));
    }
  });
});

describe('verify (restore.md §10)', () => {
  it('a good archive: checksum, full read with counts, metadata both outside and inside (0)', async () => {
    const result = await run(['verify', plain]);
    expect(result.exitCode).toBe(0);
    expect(strip(result.stdout)).toEqual([
      `[STEP] Verify ${plain.split('/').pop() ?? ''}`, '[SUCCESS] Checksum ok',
      expect.stringMatching(/^\[SUCCESS\] Archive read: \d+ entries \(\d+ files, \d+ symlinks, 0 hard links, \d+ directories\), [0-9.]+ KiB of file data$/),
      '[SUCCESS] Archive verified',
    ]);
  });

  it('by name, found on the tiers', async () => {
    expect((await run(['verify', plain.split('/').pop() ?? ''])).exitCode).toBe(0);
  });

  it('a truncated archive: checksum mismatch (2); without its sidecar: corrupt (2)', async () => {
    const copy = scratchCopy(plain);
    truncateSync(copy, 3000);
    const result = await run(['verify', copy]);
    expect(result.exitCode).toBe(2);
    expect(strip(result.stdout).slice(1)).toEqual([`[ERROR] Checksum mismatch for ${copy.split('/').pop() ?? ''}`, '[ERROR] Archive verification failed']);
    rmSync(`${copy}.sha256`);
    const bare = await run(['verify', copy]);
    expect(bare.exitCode).toBe(2);
    expect(strip(bare.stdout)).toContain(`[WARNING] Checksum file missing: ${copy.split('/').pop() ?? ''}.sha256`);
    expect(strip(bare.stdout).at(-2)).toMatch(/^\[ERROR\] Archive is corrupt: .+/);
  });

  it('a .metadata that does not match the archive (2); no .metadata (1)', async () => {
    const copy = scratchCopy(plain);
    writeFileSync(`${copy}.metadata`, readFileSync(`${copy}.metadata`, 'utf8').replace(/^FILES_INCLUDED=(\d+)$/m, 'FILES_INCLUDED=9999'));
    const result = await run(['verify', copy]);
    expect(result.exitCode).toBe(2);
    expect(strip(result.stdout).some((l) => /^\[ERROR\] Metadata mismatch: FILES_INCLUDED is 9999, archive has \d+$/.test(l))).toBe(true);
    rmSync(`${copy}.metadata`);
    const missing = await run(['verify', copy]);
    expect(missing.exitCode).toBe(1);
    expect(strip(missing.stdout).slice(-2)).toEqual([`[WARNING] Metadata file missing: ${copy.split('/').pop() ?? ''}.metadata`, '[WARNING] Archive verified with warnings']);
  });

  it('encrypted: no identity (1, header checked), the right one (0), a wrong one (2)', async () => {
    const none = await run(['verify', encrypted]);
    expect(none.exitCode).toBe(1);
    expect(strip(none.stdout).slice(-2)).toEqual(['[WARNING] Content not verified: encrypted archive and no --identity given', '[WARNING] Archive verified with warnings']);
    const right = await run(['verify', encrypted, '--identity', IDENTITY]);
    expect(right.exitCode).toBe(0);
    expect(strip(right.stdout).at(-1)).toBe('[SUCCESS] Archive verified');
    const wrongKey = join(mkdtempSync(join(tmpdir(), 'pbk-age-')), 'wrong.key');
    execFileSync('age-keygen', ['-o', wrongKey], { stdio: 'ignore' });
    const wrong = await run(['verify', encrypted, '--identity', wrongKey]);
    expect(wrong.exitCode).toBe(2);
    expect(strip(wrong.stdout)).toContain(`[ERROR] Cannot decrypt ${encrypted.split('/').pop() ?? ''}: no identity matches`);
  });

  it('a hostile archive: every unsafe entry named (restore.md §8), exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-hostile-'));
    const src = join(dir, 'src');
    mkdirSync(join(src, 'etc'), { recursive: true });
    writeFileSync(join(src, 'etc', 'ok.cfg'), 'fine\n');
    execFileSync('ln', ['-s', '/etc', join(src, 'a')]);
    execFileSync('mkfifo', [join(src, 'fifo')]);
    const archive = join(dir, 'pve-backup-evil-2024-11-25_02-00-00.tar');
    // absolute and ../ names and a member below a symlink entry, written with GNU tar's --transform and -P
    writeFileSync(join(src, 'x'), 'x\n');
    execFileSync('tar', ['-C', src, '-P', '--format=pax', '-cf', archive, './etc', './etc/ok.cfg', './a', './fifo',
      '--transform=s,^\\./x$,/etc/evil,', './x']);
    execFileSync('tar', ['-C', src, '-P', '--format=pax', '-rf', archive, '--transform=s,^\\./x$,../escape,', './x']);
    execFileSync('tar', ['-C', src, '-P', '--format=pax', '-rf', archive, '--transform=s,^\\./x$,./a/passwd,', './x']);
    writeFileSync(`${archive}.sha256`, `${execFileSync('sha256sum', [archive], { encoding: 'utf8' }).split(' ')[0] ?? ''}  ${archive.split('/').pop() ?? ''}\n`);
    chmodSync(archive, 0o600);
    const result = await run(['verify', archive]);
    expect(result.exitCode).toBe(1);
    const lines = strip(result.stdout);
    expect(lines).toEqual(expect.arrayContaining([
      '[WARNING] Unsafe entry ./fifo: special file', '[WARNING] Unsafe entry /etc/evil: absolute path',
      '[WARNING] Unsafe entry ../escape: parent directory reference', '[WARNING] Unsafe entry ./a/passwd: path goes through a symlink from the archive',
      '[WARNING] Metadata file missing: pve-backup-evil-2024-11-25_02-00-00.tar.metadata', '[INFO] No metadata file inside the archive (older format)',
    ]));
    expect(lines.at(-1)).toBe('[WARNING] Archive verified with warnings');
  });

  it('an unknown format or a missing archive: exit 2 with the message', async () => {
    expect(strip((await run(['verify', '/tmp/whatever.zip'])).stdout)).toEqual(['[ERROR] Unknown archive format: whatever.zip']);
    const missing = await run(['verify', 'pve-backup-nope-2024-01-01_00-00-00.tar.xz']);
    expect(missing.exitCode).toBe(2);
    expect(strip(missing.stdout)).toEqual(['[ERROR] Archive not found: pve-backup-nope-2024-01-01_00-00-00.tar.xz']);
  });

  it('by a name only the cloud has: fetched into restore-safety/download-…, verified, the download removed (scenario 9)', async () => {
    const name = 'pve-backup-pve1.lab.example-2024-11-01_02-00-00.tar.xz';
    copyFileSync(plain, join(cloud, name));
    copyFileSync(`${plain}.metadata`, join(cloud, `${name}.metadata`));
    writeFileSync(join(cloud, `${name}.sha256`), `${execFileSync('sha256sum', [plain], { encoding: 'utf8' }).split(' ')[0] ?? ''}  ${name}\n`);
    try {
      const result = await run(['verify', name]);
      expect(result.exitCode).toBe(0);
      expect(strip(result.stdout)[0]).toBe(`[STEP] Verify ${name}`);
      expect(readdirSync(join(sandbox.baseDir, 'restore-safety'))).toEqual([]);
    } finally {
      for (const suffix of ['', '.sha256', '.metadata']) rmSync(join(cloud, `${name}${suffix}`));
    }
  });
});
