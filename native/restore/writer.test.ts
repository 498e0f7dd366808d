// The writing pass (restore.md §6) against restore.pl's write: the same archive planned and written by each
// side into its own copy of the same target tree; the records (root shown as ROOT) and the trees (type, mode,
// owner, mtime, size, content, link target) must be equal.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forge, legacyRestore, makeTree, nativeRestore, snapshot } from '../../tests/restore/plan-legacy.js';
import { CATEGORY_ORDER } from './categories.js';
import type { PlanSettings } from './plan.js';

const ALL = CATEGORY_ORDER.filter((c) => c !== '(reports)');

async function both(archive: Buffer, files: Readonly<Record<string, string>>, more: Partial<PlanSettings> = {}): Promise<{ out: string; tree: string; base: string }> {
  const since = Math.floor(Date.now() / 1000) - 1;
  const results: { out: string; tree: string; base: string }[] = [];
  for (const side of ['legacy', 'native'] as const) {
    const base = realpathSync(mkdtempSync(join(tmpdir(), `pbk-write-${side}-`)));
    const root = join(base, 'root');
    mkdirSync(root);
    mkdirSync(join(base, 'outside'));
    makeTree(root, files);
    const settings: PlanSettings = { root, selected: ALL, pveMode: 'plain', dryRun: false, asRoot: false, ...more };
    const out = side === 'legacy' ? legacyRestore(archive, settings) : await nativeRestore(archive, settings);
    results.push({ out, tree: snapshot(base, since), base });
  }
  const [legacy, native] = results as [typeof results[0], typeof results[0]];
  expect(native.out).toBe(legacy.out);
  expect(native.tree).toBe(legacy.tree);
  return native;
}

describe('write: the same records and tree as restore.pl', () => {
  it('a mixed archive into an empty root: modes, setuid cleared, mtimes, links, hard links, a 250-byte name, upstream files', async () => {
    const long = `${'l'.repeat(250)}.conf`;
    const archive = forge([
      { name: 'etc', type: 'dir', mode: 0o751, mtime: 1_600_000_000 }, { name: 'etc/network', type: 'dir', mode: 0o700, mtime: 1_600_000_001 },
      { name: 'etc/network/interfaces', data: 'auto lo\n', mode: 0o640, mtime: 1_600_000_002 },
      { name: 'usr/local/bin/tool', data: '#!/bin/sh\n', mode: 0o4755, mtime: 1_600_000_003 },
      { name: 'usr/local/bin/link', type: 'symlink', link: 'tool', mtime: 1_600_000_004 },
      { name: 'usr/local/bin/hard', type: 'hardlink', link: 'usr/local/bin/tool', mode: 0o2750, mtime: 1_600_000_005 },
      { name: `root/${long}`, data: 'long name', mtime: 1_600_000_006 },
      { name: 'etc/big.chunked', data: '', mode: 0o600, mtime: 1_600_000_007 },
      { name: 'chunked_files/etc/big.01.chunk', data: 'second' }, { name: 'chunked_files/etc/big.00.chunk', data: 'first-' },
      { name: 'etc/dedup', type: 'symlink', link: '/tmp/proxmox-backup-9/etc/network/interfaces' },
      { name: 'var/lib/pve-cluster/info/report', data: 'never' },
      { name: 'var/lib/pve-cluster/config.db', data: 'db', mode: 0o600 },
      { name: 'etc/hosts', data: 'one' }, { name: 'etc/hosts', data: 'two', mtime: 1_600_000_008 },
      { name: 'etc/pve/nodes/n1/qemu-server/100.conf', data: 'vm', mtime: 1_600_000_009 },
    ]);
    const n = await both(archive, {});
    expect(n.out).toContain('LOG\tWARNING\tCleared setuid/setgid on usr/local/bin/tool (mode 4755)\n');
    expect(n.out).toContain('LOG\tINFO\tRejoined etc/big from 2 chunks\n');
    expect(n.out).toContain('LOG\tINFO\tResolved deduplicated link etc/dedup\n');
    expect(n.tree).toContain(`root/root/${long}`);
    expect(existsSync(join(n.base, 'root', 'var/lib/pve-cluster/info'))).toBe(false);
  });

  it('over an existing tree: replaced files and links, type conflicts, stale SQLite files, directory metadata', async () => {
    const archive = forge([
      { name: 'etc/ssh', type: 'dir', mode: 0o700, mtime: 1_500_000_000 }, { name: 'etc/ssh/sshd_config', data: 'new', mtime: 1_500_000_001 },
      { name: 'etc/hosts', data: 'hosts' }, { name: 'etc/hostname', data: 'h' }, { name: 'etc/apt', type: 'dir' },
      { name: 'etc/crontab', type: 'symlink', link: 'cron.d/x' }, { name: 'var/lib/pve-cluster/config.db', data: 'db' },
    ]);
    const n = await both(archive, {
      'etc/ssh/sshd_config': 'old', 'etc/hosts': '-> /etc/passwd', 'etc/hostname/': '', 'etc/apt': 'file', 'etc/crontab': 'c',
      'var/lib/pve-cluster/config.db': 'olddb', 'var/lib/pve-cluster/config.db-wal': 'wal', 'var/lib/pve-cluster/config.db-shm': 'shm',
    });
    expect(n.out).toContain('LOG\tINFO\tRemoved stale ROOT/var/lib/pve-cluster/config.db-wal\n');
    expect(n.out).toContain('LOG\tWARNING\tSkipped etc/hostname: a directory exists there\n');
  });

  it('a hostile archive: refused entries, nothing written outside ROOT', async () => {
    const archive = forge([{ name: '../outside/x', data: 'x' }, { name: 'a', type: 'symlink', link: '../outside' }, { name: 'a/y', data: 'y' },
      { name: 'b/z', data: 'z' }, { name: 'fifo', type: 'fifo' }, { name: 'ok', data: 'ok' }]);
    const n = await both(archive, { 'b': '-> ../outside' });
    expect(readdirSync(join(n.base, 'outside'))).toEqual([]);
    expect(n.out).toContain('LOG\tWARNING\tThis archive contains entries that point outside the target; it may have been tampered with\n');
  });

  it('as root: numeric owners on files, links and directories', async () => {
    if (process.getuid?.() !== 0) return;
    const archive = forge([{ name: 'etc/ssh', type: 'dir', uid: 1234, gid: 4321, mode: 0o750 }, { name: 'etc/ssh/k', data: 'k', uid: 1001, gid: 1002 },
      { name: 'etc/ssh/l', type: 'symlink', link: 'k', uid: 1003, gid: 1004 }]);
    const n = await both(archive, {}, { asRoot: true });
    expect(n.tree).toContain('d 750 1234:4321 1700000000  ./root/etc/ssh');
  });
});
