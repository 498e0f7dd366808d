// verify and restore agree (issue 14 §4): one reader (legacy/lib/restore.pl), one set of rules applied while
// reading. A corpus of malformed and hostile archives, forged with tests/restore/forge-tar.py, goes through
// `verify` and `restore --all` into an empty ROOT: the same verdict — corrupt for the same reason, or the same
// entries unsafe/refused for the same reasons, or clean.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, REPO, type Sandbox } from '../legacy/run.js';

const TOOL = join(REPO, 'bin', 'switch-mode');
const FORGE = join(REPO, 'tests', 'restore', 'forge-tar.py');
let sandbox: Sandbox;
beforeAll(() => { sandbox = makeSandbox(); });

interface Forged { name: string; type?: string; data?: string; link?: string; mode?: number; pax?: Record<string, string> }

function forge(entries: Forged[], damage?: (archive: string) => void): string {
  const archive = join(mkdtempSync(join(tmpdir(), 'pbk-corpus-')), 'pve-backup-evil-2024-11-25_02-00-00.tar');
  execFileSync('python3', [FORGE, archive, 'pax'], { input: JSON.stringify(entries) });
  damage?.(archive);
  const sum = execFileSync('sha256sum', [archive], { encoding: 'utf8' }).split(' ')[0] ?? '';
  writeFileSync(`${archive}.sha256`, `${sum}  ${archive.split('/').pop() ?? ''}\n`);
  return archive;
}

function tool(args: string[]) {
  return execa(TOOL, args, {
    reject: false, extendEnv: false, stdin: 'ignore', timeout: 200_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BASE_DIR: sandbox.baseDir, TZ: 'UTC', LC_ALL: 'C.UTF-8', TMPDIR: join(sandbox.baseDir, 'tmp') },
  });
}

const lines = (text: unknown): string[] => String(text).split('\n').map((l) => l.replace(/^\S+ \S+ /, ''));
const bare = (name: string): string => name.replace(/^(\.\/)+/, '');

/** corrupt:<reason>, or the sorted `name: reason` of every unsafe / refused entry (names without a leading ./). */
function verdict(output: unknown, flagged: RegExp): string[] {
  const all = lines(output);
  const corrupt = all.map((l) => /^\[ERROR\] Archive is corrupt: (.*)$/.exec(l)?.[1]).find((r) => r !== undefined);
  if (corrupt !== undefined) return [`corrupt:${corrupt}`];
  return all.map((l) => flagged.exec(l)).filter((m) => m !== null).map((m) => `${bare(m[1] ?? '')}: ${m[2] ?? ''}`).sort();
}

async function both(archive: string): Promise<{ verify: string[]; restore: string[]; verifyExit: number; restoreExit: number }> {
  const verified = await tool(['verify', archive]);
  const root = mkdtempSync(join(tmpdir(), 'pbk-corpus-root-'));
  const restored = await tool(['restore', '--archive', archive, '--all', '--to', root]);
  return {
    verify: verdict(verified.stdout, /^\[WARNING\] Unsafe entry (.*): ([^:]*)$/), verifyExit: verified.exitCode ?? 70,
    restore: verdict(restored.stdout, /^\[WARNING\] Refused (.*): ([^:]*)$/), restoreExit: restored.exitCode ?? 70,
  };
}

const OK: Forged[] = [{ name: './etc', type: 'dir' }, { name: './etc/ok.cfg', data: 'fine\n' }];
const CORPUS: [string, () => string, string[]][] = [
  ['a pax header over 1 MiB', () => forge([...OK, { name: './etc/big.cfg', data: 'x\n', pax: { comment: 'y'.repeat(1_100_000) } }]), ['corrupt:pax header over 1 MiB']],
  ['a type-7 (contiguous) file: a regular file for both', () => forge([...OK, { name: './etc/contig.cfg', type: 'contig', data: 'c\n' }]), []],
  ['a truncated archive', () => forge([...OK, { name: './etc/data.cfg', data: 'z'.repeat(20_000) }], (a) => truncateSync(a, statSync(a).size - 12_000)),
    ['corrupt:unexpected end of archive']],
  ['a FIFO and a character device', () => forge([...OK, { name: './fifo', type: 'fifo' }, { name: './chr', type: 'char' }]),
    ['chr: special file', 'fifo: special file']],
  ['absolute and parent-directory names', () => forge([...OK, { name: '/etc/x', data: 'abs\n' }, { name: '../x', data: 'up\n' }]),
    ['../x: parent directory reference', '/etc/x: absolute path']],
  ['a member below a symlink entry', () => forge([...OK, { name: './a', type: 'symlink', link: '/' }, { name: './a/etc/passwd', data: 'evil\n' }]),
    ['a/etc/passwd: path goes through a symlink from the archive']],
  ['a hard link to nothing in the archive', () => forge([...OK, { name: './hl', type: 'hardlink', link: 'etc/missing' }]),
    ['hl: hard link outside the archive']],
  ['a name over 4096 bytes', () => forge([...OK, { name: `./etc/${'n'.repeat(200)}/${'m'.repeat(4000)}`, data: 'long\n' }]),
    [`etc/${'n'.repeat(200)}/${'m'.repeat(4000)}: name too long`]],
];

describe('malformed-archive corpus: verify and restore, the same verdict', () => {
  it.each(CORPUS)('%s', async (_name, make, expected) => {
    const result = await both(make());
    expect(result.verify).toEqual(expected);
    expect(result.restore).toEqual(result.verify);
    const corrupt = expected[0]?.startsWith('corrupt:') === true;
    expect(result.verifyExit).toBe(corrupt ? 2 : expected.length > 0 ? 1 : result.verifyExit);
    expect(result.restoreExit).toBe(corrupt ? 2 : expected.length > 0 ? 1 : 0);
  });

  it('a type-7 file is counted as a file by verify and written as one by restore', async () => {
    const archive = forge([...OK, { name: './etc/contig.cfg', type: 'contig', data: 'c\n' }]);
    const verified = await tool(['verify', archive]);
    expect(lines(verified.stdout)).toContain('[SUCCESS] Archive read: 3 entries (2 files, 0 symlinks, 0 hard links, 1 directories), 7 B of file data');
    const root = mkdtempSync(join(tmpdir(), 'pbk-corpus-root-'));
    await tool(['restore', '--archive', archive, '--all', '--to', root]);
    expect(readFileSync(join(root, 'etc', 'contig.cfg'), 'utf8')).toBe('c\n');
  });
});
