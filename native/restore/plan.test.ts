// The listing pass and the plan (restore.md §5.6, §6.2, §6.4, §7, §8) against legacy/lib/restore.pl's scan and
// plan on the same archive and the same real target tree: every record, the plan and the safety list equal.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forge, legacyScanPlan, makeTree, nativeScanPlan } from '../../tests/restore/plan-legacy.js';
import { CATEGORY_ORDER } from './categories.js';
import type { PlanSettings } from './plan.js';

const ALL = CATEGORY_ORDER.filter((c) => c !== '(reports)');

function root(files: Readonly<Record<string, string>> = {}): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'pbk-plan-root-')));
  mkdirSync(join(dir, 'root'));
  makeTree(join(dir, 'root'), files);
  return join(dir, 'root');
}

async function both(archive: Buffer, settings: PlanSettings): Promise<Awaited<ReturnType<typeof nativeScanPlan>>> {
  const native = await nativeScanPlan(archive, settings);
  const legacy = legacyScanPlan(archive, settings);
  expect({ scan: native.scan, table: native.table, plan: native.plan, planFile: native.planFile, safety: native.safety }).toEqual(legacy);
  return native;
}

const settings = (r: string, more: Partial<PlanSettings> = {}): PlanSettings =>
  ({ root: r, selected: ALL, pveMode: 'plain', dryRun: false, asRoot: false, ...more });

describe('plan: the same records as restore.pl', () => {
  it('hostile entries: every refusal named, the tamper warning once, nothing planned outside ROOT', async () => {
    const r = root({ 'b': `-> ${join(r0(), 'outside')}` });
    const archive = forge([
      { name: '/etc/x', data: 'x' }, { name: '../x', data: 'x' }, { name: 'a', type: 'symlink', link: '/' }, { name: 'a/etc/passwd', data: 'p' },
      { name: 'c', type: 'symlink', link: '..' }, { name: 'c/x', data: 'x' }, { name: 'b/f', data: 'f' }, { name: 'fifo', type: 'fifo' },
      { name: 'dev', type: 'char' }, { name: 'suid', data: 's', mode: 0o4755 }, { name: 'h', type: 'hardlink', link: '../../etc/shadow' },
      { name: 'h2', type: 'hardlink', link: 'nothing' }, { name: 'd', type: 'symlink', link: '/tmp/proxmox-backup-x/etc/nothing' },
      { name: `${'n'.repeat(256)}`, data: 'long' }, { name: 'ok', data: 'ok' },
    ]);
    const n = await both(archive, settings(r));
    const warnings = n.result?.logs.filter((l) => l.level === 'WARNING').map((l) => l.message) ?? [];
    expect(warnings).toEqual([
      'Refused /etc/x: absolute path', 'Refused ../x: parent directory reference', 'Refused a/etc/passwd: path goes through a symlink from the archive',
      'Refused c/x: path goes through a symlink from the archive', 'Refused b/f: escapes the target through a symlink',
      'Refused fifo: special file', 'Refused dev: special file', 'Refused h: parent directory reference',
      'Refused h2: hard link outside the archive', 'Refused d: link into an old temporary directory',
      `Refused ${'n'.repeat(256)}: name too long`,
      'This archive contains entries that point outside the target; it may have been tampered with',
    ]);
    expect([...n.result?.actions.values() ?? []].map((a) => a.norm)).toEqual(['a', 'c', 'suid', 'ok']);
  });

  it('conflicts over an existing tree: duplicates, file over directory, directory over file, special file, replaced files', async () => {
    const r = root({ 'etc/hosts': 'old', 'etc/hostname/': '', 'etc/ssh': 'a file', 'etc/apt/sources.list': '-> elsewhere', 'etc/cron.d/': '' });
    execFileSync('mkfifo', [join(r, 'etc/crontab')]);
    const archive = forge([
      { name: 'etc', type: 'dir', mode: 0o755 }, { name: 'etc/hosts', data: 'one' }, { name: 'etc/hosts', data: 'two' },
      { name: 'etc/hostname', data: 'h' }, { name: 'etc/ssh', type: 'dir' }, { name: 'etc/crontab', data: 'c' },
      { name: 'etc/apt/sources.list', data: 'deb' }, { name: 'etc/cron.d', type: 'dir', mode: 0o700, mtime: 1 }, { name: 'etc/network/interfaces', data: 'i' },
    ]);
    const n = await both(archive, settings(r));
    expect(n.result?.safety).toEqual(['etc/apt/sources.list', 'etc/cron.d', 'etc/hosts']);
    expect(n.result?.hints).toEqual(['network']);
  });

  it('dry-run: one line per write; selected categories only', async () => {
    const r = root({ 'etc/hosts': 'old' });
    const archive = forge([{ name: 'etc/', type: 'dir' }, { name: 'etc/hosts', data: 'x' }, { name: 'etc/pve/nodes/n/qemu-server/100.conf', data: 'vm' },
      { name: 'etc/network', type: 'dir' }, { name: 'root/.bashrc', data: 'b' }]);
    const n = await both(archive, settings(r, { dryRun: true, selected: ['network', 'vm-configs'] }));
    expect(n.result?.logs.map((l) => l.message)).toEqual([`Dry run: would replace ${r}/etc/hosts`,
      `Dry run: would create ${r}/etc/pve/nodes/n/qemu-server/100.conf`, `Dry run: would create directory ${r}/etc/network`]);
    expect(n.result?.notSelected).toBe(1);
  });

  it('upstream archives: reports skipped, chunks rejoined, dedup links resolved, a gap skipped', async () => {
    const r = root();
    const archive = forge([
      { name: 'var/lib/pve-cluster/info/x', data: 'r' }, { name: 'etc/big.chunked', data: '' },
      { name: 'chunked_files/etc/big.01.chunk', data: 'BB' }, { name: 'chunked_files/etc/big.00.chunk', data: 'AAA' },
      { name: 'etc/gap.chunked', data: '' }, { name: 'chunked_files/etc/gap.01.chunk', data: 'x' },
      { name: 'etc/real', data: 'content' }, { name: 'etc/dedup', type: 'symlink', link: '/tmp/proxmox-backup-123/etc/real' },
      { name: 'etc/h', type: 'hardlink', link: 'etc/real' },
    ]);
    const n = await both(archive, settings(r));
    expect(n.result?.logs.map((l) => l.message)).toEqual(['Skipped etc/gap: chunk 0 missing']);
    expect(n.result?.reports).toBe(4);
  });

  it('/etc/pve modes: blocked (one warning per category), pmxcfs (links skipped), stale SQLite files', async () => {
    const r = root({ 'var/lib/pve-cluster/config.db': 'db', 'var/lib/pve-cluster/config.db-wal': 'wal' });
    const archive = forge([{ name: 'etc/pve/datacenter.cfg', data: 'd' }, { name: 'etc/pve/user.cfg', data: 'u' },
      { name: 'etc/pve/storage.cfg', data: 's' }, { name: 'etc/pve/local', type: 'symlink', link: 'nodes/n' },
      { name: 'var/lib/pve-cluster/config.db', data: 'new' }, { name: 'etc/corosync/corosync.conf', data: 'c' }]);
    const blocked = await both(archive, settings(r, { pveMode: 'blocked' }));
    expect(blocked.result?.logs.map((l) => l.message)).toEqual([`Skipped pve-config: ${r}/etc/pve is not a running pmxcfs; its content comes from config.db`,
      `Skipped users-acl: ${r}/etc/pve is not a running pmxcfs; its content comes from config.db`,
      `Skipped storage: ${r}/etc/pve is not a running pmxcfs; its content comes from config.db`]);
    expect(blocked.result?.safety).toEqual(['var/lib/pve-cluster/config.db', 'var/lib/pve-cluster/config.db-wal']);
    expect(blocked.result?.hints).toEqual(['cluster']);
    const pmxcfs = await both(archive, settings(r, { pveMode: 'pmxcfs', asRoot: true }));
    expect(pmxcfs.result?.logs.map((l) => l.message)).toEqual(['Skipped etc/pve/local: pmxcfs manages this link']);
  });

  it('parents: a file on the way fails, a link inside ROOT is followed, an entry over a link to a directory keeps it', async () => {
    const r = root({ 'etc/file': 'x', 'inside/': '', 'etc/ssh': '-> ../inside', 'etc/apt': '-> ../inside' });
    symlinkSync('/nonexistent-pbk', join(r, 'dangling'));
    const archive = forge([{ name: 'etc/file/x', data: 'x' }, { name: 'etc/ssh/y', data: 'y' }, { name: 'etc/apt', type: 'dir' },
      { name: 'dangling/z', data: 'z' }, { name: 'etc/ssh', type: 'dir', mode: 0o700 }]);
    const n = await both(archive, settings(r));
    expect(n.result?.failed).toBe(1);
    expect(n.result?.refused).toBe(1);
    expect([...n.result?.actions.values() ?? []].map((a) => [a.norm, a.op, a.keep])).toEqual([['etc/ssh/y', 'create', false],
      ['etc/apt', 'dirmeta', true], ['etc/ssh', 'dirmeta', true]]);
  });

  it('a name with slashes after its leading ./ is the relative path, in its own category (found by the fuzz, seed 7)', async () => {
    const r = root();
    const n = await both(forge([{ name: './/etc/passwd', data: 'root:x:0:0\n' }, { name: './/a', data: 'a' }], 'gnu'), settings(r, { selected: ['custom-paths'] }));
    expect(n.entries.map((e) => [e.norm, e.category])).toEqual([['etc/passwd', 'accounts'], ['a', 'custom-paths']]);
    expect([...n.result?.actions.values() ?? []].map((a) => a.norm)).toEqual(['a']);
  });

  it('a corrupt archive is named, the same reason', async () => {
    const good = forge([{ name: 'a', data: 'x'.repeat(2000) }]);
    for (const archive of [good.subarray(0, 1024), Buffer.concat([good.subarray(0, 100), Buffer.from('z'), good.subarray(101)])]) {
      const n = await both(archive, settings(root()));
      expect(n.scan).toMatch(/^CORRUPT\t(unexpected end of archive|bad header checksum)\n$/);
    }
  });
});

/** A scratch directory outside every ROOT (for links that point out). */
function r0(): string {
  return realpathSync(mkdtempSync(join(tmpdir(), 'pbk-outside-')));
}
