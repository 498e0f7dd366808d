// Native backup_archive (archive.md §2, §3): the stream readable by GNU tar and the compressor CLIs, every hazard name
// restored byte for byte, the same entry order and lines as legacy, and the failures: a compressor dying
// mid-stream and a full disk leave nothing under the final name and end 2 with the same line on both sides.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync,
  symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupArchive } from '../../native/backup/archive/index.js';
import { zstdArgv, type Level } from '../../native/backup/archive/compressor.js';
import { backupVerify } from '../../native/backup/verify.js';
import { archiveManifest } from '../../native/compare/normalise/archive.js';
import type { RunDir } from '../../native/core/run-dir.js';
import { sharedKeptRun, runNativeStage, runShim, stageDir, stageEnv, type KeptRun } from './stage-run.js';

const BIG = randomBytes(3 * 1024 * 1024);
const b = (text: string): Buffer => Buffer.from(text, 'latin1');
const at = (dir: string, ...parts: string[]): Buffer => b([dir, ...parts].join('/'));

/** A staging tree with every name and entry kind that troubles a tar writer. */
function hazardTree(root: string): void {
  const dir = (rel: string): void => { mkdirSync(at(root, rel), { recursive: true }); };
  const file = (rel: string, content: string | Buffer, mode = 0o644): void => {
    writeFileSync(at(root, rel), content);
    chmodSync(at(root, rel), mode);
  };
  dir('etc/pve');
  file('etc/pve/caf\xe9.cfg', 'latin1: 1\n');
  file('etc/pve/new\nline.cfg', 'newline: 1\n');
  file('etc/pve/tab\tname.cfg', 'tab\n');
  file('etc/pve/esc\x1b[31mred.cfg', 'control\n');
  file('etc/pve/quote\'s "double" $(x).cfg', 'q\n', 0o600);
  file('etc/pve/setuid-tool', '#!/bin/sh\n', 0o4755);
  file(`etc/pve/${'n'.repeat(150)}.cfg`, 'long name\n');
  dir(`etc/${'d'.repeat(120)}/${'e'.repeat(120)}`);
  file(`etc/${'d'.repeat(120)}/${'e'.repeat(120)}/deep.cfg`, 'deep\n');
  symlinkSync(b(`../${'t'.repeat(150)}`), at(root, 'etc/pve/long-link'));
  symlinkSync(b('caf\xe9.cfg'), at(root, 'etc/pve/latin1-link'));
  file('etc/a-b', 'order: - sorts before /\n');
  dir('etc/a');
  file('etc/a/x', 'x\n');
  file('etc/hard-1', 'same inode\n');
  linkSync(at(root, 'etc/hard-1'), at(root, 'etc/hard-2'));
  dir('var/empty');
  file('var/big.bin', BIG);
  utimesSync(at(root, 'var/big.bin'), 1732413600.5, 1732413600.5);
}

interface Entry { kind: string; mode: number; size: number; content: string; link: string; mtime: number }

/** Every path below root (as latin1 text) → what GNU tar must restore. */
function treeOf(root: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(at(root, rel), { encoding: 'buffer' })) {
      const path = `${rel}/${name.toString('latin1')}`;
      const stat = lstatSync(at(root, path));
      const kind = stat.isDirectory() ? 'd' : stat.isSymbolicLink() ? 'l' : 'f';
      out.set(path, {
        kind, mode: kind === 'l' ? 0 : stat.mode & 0o7777, size: kind === 'f' ? stat.size : 0,
        content: kind === 'f' ? readFileSync(at(root, path)).toString('base64').slice(0, 64) : '',
        link: kind === 'l' ? readlinkSync(at(root, path), { encoding: 'buffer' }).toString('latin1') : '',
        mtime: kind === 'd' ? 0 : Math.floor(stat.mtimeMs / 1000),
      });
      if (kind === 'd') walk(path);
    }
  };
  walk('.');
  return out;
}

let kept: KeptRun;
beforeAll(async () => { kept = await sharedKeptRun('pve-single'); });
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function scratch(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

function withHazards(type: string, mode = 'standard', context: Record<string, string> = {}): { dir: RunDir; out: string } {
  const out = scratch('pbk-archive-out-');
  const dir = stageDir(kept, { LOCAL_BACKUP_PATH: out, ...context }, { COMPRESSION_EFFECTIVE: type, COMPRESSION_TYPE: type, COMPRESSION_MODE: mode });
  dirs.push(dir.path);
  hazardTree(dir.staging);
  return { dir, out };
}

function archiveOf(out: string): string {
  const name = readdirSync(out).find((n) => /\.tar(\.[a-z0-9]+)?$/.test(n));
  if (name === undefined) throw new Error(`no archive in ${out}: ${readdirSync(out).join(', ')}`);
  return join(out, name);
}

describe('native backup_archive', () => {
  it('writes what GNU tar restores byte for byte: odd and long names, links, modes, hard links as files', async () => {
    const { dir, out } = withHazards('none');
    const result = await runNativeStage(backupArchive, dir, stageEnv(kept));
    expect(result.status).toBe(0);
    const restored = scratch('pbk-restored-');
    execFileSync('tar', ['-xpf', archiveOf(out), '-C', restored]);
    expect(treeOf(restored)).toEqual(treeOf(dir.staging));
    expect(lstatSync(at(restored, 'etc/hard-2')).nlink).toBe(1);   // --hard-dereference: stored as a file
  });

  it('lists the same entries in the same order as the legacy archive (./ first, then byte order)', async () => {
    const native = withHazards('none');
    const legacy = withHazards('none');
    expect((await runNativeStage(backupArchive, native.dir, stageEnv(kept))).status).toBe(0);
    expect((await runShim('backup_archive', legacy.dir, stageEnv(kept))).status).toBe(0);
    const list = (archive: string): string => execFileSync('tar', ['--quoting-style=escape', '-tf', archive], { encoding: 'latin1' });
    const listed = list(archiveOf(native.out));
    expect(listed.split('\n').slice(0, 3)).toEqual(['./', './etc/', './etc/a/']);
    expect(listed).toBe(list(archiveOf(legacy.out)));
  });

  it.each([
    ['xz', 'standard'], ['xz', 'maximum'], ['lzma', 'ultra'], ['zstd', 'standard'], ['zstd', 'ultra'], ['gzip', 'fast'],
    ['pigz', 'standard'], ['bzip2', 'standard'],
  ])('%s (%s): the real CLI reads it back, entry for entry the same as legacy', async (type, mode) => {
    const native = withHazards(type, mode);
    const legacy = withHazards(type, mode);
    const n = await runNativeStage(backupArchive, native.dir, stageEnv(kept));
    const l = await runShim('backup_archive', legacy.dir, stageEnv(kept));
    expect(n.status).toBe(0);
    expect(l.status).toBe(0);
    expect(await archiveManifest(archiveOf(native.out), { env: process.env })).toBe(await archiveManifest(archiveOf(legacy.out), { env: process.env }));
    const meta = (out: string): string => readFileSync(`${archiveOf(out)}.metadata`, 'utf8').replace(/^(ARCHIVE_SIZE|SHA256|COMPRESSION_RATIO|BACKUP_DURATION)=.*$/gm, '$1=…');
    expect(meta(native.out)).toBe(meta(legacy.out));
    const sha = readFileSync(`${archiveOf(native.out)}.sha256`, 'utf8');
    expect(execFileSync('sha256sum', ['-c', '-'], { cwd: native.out, input: sha, encoding: 'utf8' })).toMatch(/: OK$/m);
    expect(lstatSync(archiveOf(native.out)).mode & 0o777).toBe(0o600);
  });

  it.each([['xz', 'standard'], ['zstd', 'standard'], ['zstd', 'ultra']])('%s (%s) on a host without its CLI: the library writes what the CLI reads back', async (type, mode) => {
    const native = withHazards(type, mode);
    const env = { ...stageEnv(kept), PATH: scratch('pbk-empty-path-') };   // no xz, no zstd: liblzma / libzstd in-process
    expect((await runNativeStage(backupArchive, native.dir, env)).status).toBe(0);
    const restored = scratch('pbk-restored-');
    execFileSync('tar', ['-xpf', archiveOf(native.out), '-C', restored, ...(type === 'zstd' ? ['--use-compress-program=zstd -d --long=27'] : [])]);
    expect(treeOf(restored)).toEqual(treeOf(native.dir.staging));
  });

  it('zstd through its CLI takes legacy\'s argv, and in ultra mode the bounded window, tables and workers', () => {
    const level = (ultra: boolean): Level => ({ level: ultra ? 22 : 3, extreme: false, ultra });
    expect(zstdArgv(level(false), 2)).toEqual(['zstd', '-3', '-T2', '-c', '-q']);
    expect(zstdArgv(level(true), 8, 3_000_000)).toEqual(['zstd', '--ultra', '-22', '--long=22', '--zstd=hlog=22,clog=23', '-T2', '-c', '-q']);
    expect(zstdArgv(level(true), 1, 2 ** 40)).toEqual(['zstd', '--ultra', '-22', '--long=27', '--zstd=hlog=23,clog=24', '-T1', '-c', '-q']);
  });

  it('a compressor dying mid-stream: exit 2, the same line as legacy, nothing under the final name, no temp file', async () => {
    const fake = scratch('pbk-fake-bin-');
    // reads a little of the stream, then fails as a real compressor would on a bad block
    for (const name of ['bzip2', 'pbzip2']) {
      writeFileSync(join(fake, name), '#!/bin/sh\nhead -c 65536 > /dev/null\necho "compressor: simulated I/O failure" >&2\nexit 3\n', { mode: 0o755 });
    }
    const env = stageEnv(kept);
    env.PATH = `${fake}:${env.PATH ?? ''}`;
    const results = [];
    for (const run of [(d: RunDir) => runNativeStage(backupArchive, d, env), (d: RunDir) => runShim('backup_archive', d, env)]) {
      const { dir, out } = withHazards('bzip2', 'standard', { COMPRESSION_THREADS: '2' });
      const result = await run(dir);
      expect(result.status).toBe(2);
      expect(result.state.get('STATUS_ARCHIVE')).toBe('2');
      expect(readdirSync(out)).toEqual([]);
      results.push(result.lines.filter((l) => l.startsWith('[ERROR]')));
    }
    expect(results[0]).toEqual(['[ERROR] Failed to create backup archive: pbzip2: compressor: simulated I/O failure']);
    expect(results[0]).toEqual(results[1]);
  });

  // A real full file system needs a mount: root with CAP_SYS_ADMIN (CI runs as root); elsewhere this is skipped.
  const mount = scratch('pbk-full-');
  let mounted = false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount], { stdio: 'ignore' });
    mounted = true;
  } catch {
    mounted = false;
  }
  // after hooks run last-registered first: the tmpfs is gone before the scratch directories are removed, even
  // when the suite failed before the test that unmounts it
  afterAll(() => {
    if (mounted) execFileSync('sh', ['-c', 'umount "$1" 2> /dev/null || true', 'sh', mount]);
  });
  it.skipIf(!mounted)('a full disk (a 1 MiB tmpfs): exit 2 with a clear message on both sides, nothing left behind', async () => {
    try {
      const lines = [];
      for (const run of [(d: RunDir) => runNativeStage(backupArchive, d, stageEnv(kept)), (d: RunDir) => runShim('backup_archive', d, stageEnv(kept))]) {
        const out = join(mount, `out-${lines.length}`);
        const { dir } = withHazards('none', 'standard', { LOCAL_BACKUP_PATH: out });
        const result = await run(dir);
        expect(result.status).toBe(2);
        expect(readdirSync(out)).toEqual([]);
        lines.push(result.lines.filter((l) => l.startsWith('[ERROR]') || l.startsWith('[WARNING]')));
      }
      expect(lines[0]).toEqual(['[WARNING] Low disk space available in backup directory: 1MB',
        '[ERROR] Failed to create backup archive: cat: write error: No space left on device']);
      expect(lines[0]).toEqual(lines[1]);
    } finally {
      execFileSync('umount', [mount]);
    }
  });

  it('dry-run writes nothing and says what it would have made', async () => {
    const { dir, out } = withHazards('xz', 'standard', { DRY_RUN: 'true' });
    const result = await runNativeStage(backupArchive, dir, stageEnv(kept));
    expect(result.status).toBe(0);
    expect(result.lines).toEqual(['[STEP] Creating backup archive', expect.stringMatching(/^\[INFO\] Dry run: would create archive pve-backup-.*\.tar\.xz$/)]);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('each side verifies the other side\'s archive (legacy archives stay readable by native verification)', async () => {
    for (const [archiveWith, verifyWith] of [['legacy', 'native'], ['native', 'legacy']] as const) {
      const out = scratch('pbk-cross-');
      const dir = stageDir(kept, { LOCAL_BACKUP_PATH: out });
      dirs.push(dir.path);
      const env = stageEnv(kept);
      expect((await runShim('backup_collect', dir, env)).status).toBe(0);
      const made = archiveWith === 'legacy' ? await runShim('backup_archive', dir, env) : await runNativeStage(backupArchive, dir, env);
      expect(made.status).toBe(0);
      const verified = verifyWith === 'legacy' ? await runShim('backup_verify', dir, env) : await runNativeStage(backupVerify, dir, env);
      expect(verified.status).toBe(0);
      expect(verified.lines.at(-1)).toBe('[SUCCESS] Archive verification completed successfully');
    }
  });
});
