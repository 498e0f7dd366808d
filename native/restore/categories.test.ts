// The category table and matching (restore.md §5.1-§5.2) against legacy/lib/restore.pl's own.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATEGORY_ORDER, categoryOf, categoryRows, GUARDED_CATEGORIES, onRoot } from './categories.js';

const ENGINE = join(import.meta.dirname, '..', '..', 'legacy', 'lib', 'restore.pl');

/** restore.pl's category_of on each NAME (byte strings), one answer per name. */
function legacyCategories(names: readonly (readonly [string, boolean])[]): string[] {
  const input = names.map(([n, dir]) => `${Buffer.from(n, 'latin1').toString('hex')}\t${dir ? 1 : 0}\n`).join('');
  const run = spawnSync('perl', ['-e', `require $ARGV[0]; while (<STDIN>) { chomp; my ($h, $d) = split /\t/, $_, -1; print category_of(pack('H*', $h), $d), "\\n"; }`,
    ENGINE], { input });
  expect(run.stderr.toString()).toBe('');
  return run.stdout.toString().split('\n').slice(0, -1);
}

const NAMES: readonly (readonly [string, boolean])[] = [
  ['etc/pve/nodes/pve1/qemu-server/100.conf', false], ['etc/pve/nodes/pve1/qemu-server/100.conf.tmp', false],
  ['etc/pve/nodes/pve1/lxc/101.conf', false], ['etc/pve/nodes/pve1/qemu-server', true], ['etc/pve/nodes/pve1/host.fw', false],
  ['etc/pve/firewall/cluster.fw', false], ['etc/pve/storage.cfg', false], ['etc/pve/priv/storage/x.pw', false], ['etc/vzdump.conf', false],
  ['etc/pve/jobs.cfg', false], ['etc/cron.d/vzdump', false], ['etc/cron.d/other', false], ['etc/proxmox-backup/sync.cfg', false],
  ['etc/proxmox-backup/datastore.cfg', false], ['etc/proxmox-backup/token.shadow', false], ['etc/pve/user.cfg', false],
  ['etc/pve/priv/shadow.cfg', false], ['etc/pve/priv/ceph.client.admin.keyring', false], ['etc/pve/priv/ceph', true], ['etc/ceph/ceph.conf', false],
  ['etc/pve/ceph.conf', false], ['etc/pve/datacenter.cfg', false], ['etc/pve', true], ['etc/pve/.version', false], ['etc/pve/.members', false],
  ['etc/pve/corosync.conf', false], ['etc/corosync/authkey', false], ['var/lib/pve-cluster/config.db', false], ['var/lib/pve-cluster/info/x', false],
  ['var/lib/pve-cluster', true], ['var/lib/proxmox-backup-info/backup_metadata.txt', false], ['var/lib/proxmox-backup/x', false],
  ['chunked_files/etc/big.00.chunk', false], ['etc/network/interfaces', false], ['etc/hosts', false], ['etc/hostname', false],
  ['etc/hosts.allow', false], ['etc/systemd/network/10.link', false], ['etc/systemd/system/x.service', false], ['etc/udev/rules.d/70.rules', false],
  ['etc/lvm/lvm.conf', false], ['etc/iscsi/iscsid.conf', false], ['etc/multipath.conf', false], ['etc/multipath/wwids', false],
  ['etc/mdadm/mdadm.conf', false], ['etc/crypttab', false], ['etc/hostid', false], ['var/lib/iscsi/nodes/x', false], ['etc/ssh/sshd_config', false],
  ['root/.ssh/authorized_keys', false], ['home/op/.ssh/id_ed25519', false], ['home/op/.bashrc', false], ['home', true], ['etc/crontab', false],
  ['var/spool/cron/crontabs/root', false], ['etc/apt/sources.list', false], ['etc/passwd', false], ['etc/gshadow', false], ['etc/fstab', false],
  ['etc/default/grub', false], ['etc/default/grub.d/x.cfg', false], ['etc/default/locale', false], ['usr/local/bin/x', false],
  ['script-repository/backup.env', false], ['root/.bashrc', false], ['etc', true], ['', true], ['', false], ['etc/hosts\n', false],
  ['etc/pve/nodes/\xff/qemu-server/1.conf', false], ['etc/pve/nodes/a/b/qemu-server/1.conf', false], ['etc/modules', false],
  ['etc/modules-load.d/x.conf', false], ['etc/sysctl.d/99.conf', false],
];

describe('categories (restore.md §5.2)', () => {
  it('the --list-categories table rows are restore.pl categories', () => {
    const run = spawnSync('perl', [ENGINE, 'categories']);
    expect(categoryRows().map((r) => `ROW\t${r.join('\t')}\n`).join('')).toBe(run.stdout.toString());
    expect(CATEGORY_ORDER.at(-1)).toBe('(reports)');
    expect(CATEGORY_ORDER).toContain('storage-stack');
  });

  it('every name lands in the category restore.pl gives it', () => {
    expect(NAMES.map(([n, d]) => categoryOf(n, d))).toEqual(legacyCategories(NAMES));
  });

  it('the spec rows, the first covering row winning', () => {
    expect(categoryOf('etc/pve/priv/storage/x.pw', false)).toBe('storage');
    expect(categoryOf('etc/pve/priv/ceph.client.admin.keyring', false)).toBe('ceph');
    expect(categoryOf('etc/pve/priv/authkey.key', false)).toBe('pve-config');
    expect(categoryOf('etc/pve/.members', false)).toBe('(reports)');
    expect(categoryOf('etc/lvm/lvm.conf', false)).toBe('storage-stack');
    expect(categoryOf('var/lib/iscsi', true)).toBe('storage-stack');
    expect(categoryOf('etc/hosts.allow', false)).toBe('custom-paths');
    expect(categoryOf('etc', true)).toBe('-');
    expect(GUARDED_CATEGORIES.map(onRoot)).toEqual(['guarded', 'guarded', 'guarded', 'guarded']);
    expect(onRoot('tool')).toBe('no');
  });
});
