// Native backup_collect against legacy on the same inputs (collect.md): on every fixture host, with every collection
// switch off, with custom paths and the blacklist — status, every line (DEBUG too), state and the staging tree
// entry by entry must be equal; and the hostile host's hazards, each checked on the native staging tree.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectState, compareCollect, nativeCollect, type Compared } from './collect-compare.js';

const C = './var/lib/proxmox-backup-info/commands';

function expectSame(result: Awaited<ReturnType<typeof compareCollect>>): void {
  expect(result.native.lines).toEqual(result.legacy.lines);
  expect(result.native.status).toBe(result.legacy.status);
  expect(collectState(result.native)).toEqual(collectState(result.legacy));
  expect(treeDifferences(result.legacy.tree, result.native.tree)).toEqual([]);
}

/** The entries that differ between two staging trees, each as "path: legacy | native" (a short failure report). */
function treeDifferences(legacy: Map<string, string>, native: Map<string, string>): string[] {
  const paths = [...new Set([...legacy.keys(), ...native.keys()])].sort();
  return paths.filter((p) => legacy.get(p) !== native.get(p)).map((p) => `${p}: ${legacy.get(p) ?? 'absent'} | ${native.get(p) ?? 'absent'}`);
}

/** The comparison with the host's defaults, once per host (the host case and the switches read it). */
const DEFAULTS = new Map<string, Promise<Compared>>();
function defaults(host: string): Promise<Compared> {
  let result = DEFAULTS.get(host);
  if (result === undefined) {
    result = compareCollect(host);
    DEFAULTS.set(host, result);
  }
  return result;
}

// What a rebuilt node needs (collect.md §5.3, decision 23): the rows each fixture host carries a sample of.
const REBUILD: Record<string, readonly string[]> = {
  'pve-single': ['./etc/udev/rules.d/70-persistent-net.rules', './etc/modprobe.d/zfs.conf', './etc/hostid', './etc/lvm/backup/pve',
    `${C}/storage/lvs.txt`, `${C}/network/bridge_vlan.json`, `${C}/storage/lsblk.json`, `${C}/system/kernel_cmdline.txt`],
  'pve-cluster': ['./etc/network/interfaces.d/sdn', './etc/systemd/network/10-nic0.link', './etc/udev/rules.d/99-iscsi-queue.rules',
    './etc/modprobe.d/vfio.conf', './etc/modules', './etc/modules-load.d/multipath.conf', './etc/kernel/cmdline',
    './etc/kernel/proxmox-boot-uuids', './etc/default/grub', './etc/default/grub.d/init-select.cfg', './etc/sysctl.conf',
    './etc/sysctl.d/90-ceph.conf', './etc/hostid', './etc/cron.hourly/.placeholder', './etc/cron.monthly/.placeholder',
    './etc/lvm/lvm.conf', './etc/lvm/backup/pve', './etc/lvm/archive/pve_00006-1732413000.vg', './etc/iscsi/initiatorname.iscsi',
    './var/lib/iscsi/nodes/iqn.2005-10.org.freenas.ctl:pve-lun0/10.10.30.5,3260,1/default', './etc/multipath.conf',
    './etc/multipath/bindings', './etc/multipath/wwids', `${C}/system/kernel_cmdline.txt`, `${C}/network/bonding/bond0.txt`,
    `${C}/network/bridge_vlan.json`, `${C}/storage/blkid.txt`, `${C}/storage/lsblk.json`, `${C}/storage/pvs.txt`, `${C}/storage/vgs.txt`,
    `${C}/storage/lvs.txt`, `${C}/pve/cluster_status.txt`, `${C}/pve/cluster_nodes.txt`],
  pbs: ['./etc/mdadm/mdadm.conf', './etc/crypttab', './etc/lvm/backup/pve', `${C}/storage/blkid.txt`, `${C}/storage/pvs.txt`],
  dual: ['./etc/lvm/backup/pve', './etc/hostid', `${C}/storage/vgs.txt`],
  hostile: ['./etc/lvm/lvm.conf', `${C}/storage/vgs.txt`, `${C}/storage/lsblk.json`],
};

describe.each(['pve-single', 'pve-cluster', 'pbs', 'dual', 'hostile'])('%s', (host) => {
  it('collects what legacy collects, line for line, with what a rebuild needs', async () => {
    const result = await defaults(host);
    expectSame(result);
    const tree = result.native.tree;
    for (const path of REBUILD[host] ?? []) expect({ path, present: tree.has(path) }).toEqual({ path, present: true });
    expect([...tree.keys()].filter((p) => p.startsWith('./etc/lvm/cache'))).toEqual([]);   // S58: never the device cache
    if (host === 'pve-cluster') expect(tree.get('./etc/iscsi/initiatorname.iscsi')).toMatch(/^f 600 /);
    if (host !== 'pve-cluster') expect(tree.has(`${C}/pve/cluster_status.txt`)).toBe(false);   // S74: cluster members only
    if (host === 'hostile') {
      // blkid finding no device exits 2, a failing pvs and an unknown bridge object: DEBUG, no file, no warning
      expect(result.native.lines).toContain('[DEBUG] Failed to collect block device attributes - command: blkid - exit 2');
      expect(tree.has(`${C}/storage/blkid.txt`)).toBe(false);
      expect(tree.has(`${C}/storage/pvs.txt`)).toBe(false);
      expect(tree.has(`${C}/network/bridge_vlan.json`)).toBe(false);
    }
  });
});

describe('a config.db SQLite cannot back up (collect.md V2)', () => {
  it('is copied as-is with one WARNING, on both sides', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pbk-damaged-db-'));
    cpSync(join(import.meta.dirname, '..', '..', 'parity', 'hosts', 'pve-single', 'root'), root, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    const damaged = Buffer.from('SQLite format 3\0 but the rest was overwritten by a failing disk\n'.repeat(64), 'latin1');
    writeFileSync(join(root, 'var/lib/pve-cluster/config.db'), damaged, { mode: 0o600 });
    const result = await compareCollect('pve-single', { SYSTEM_ROOT_PREFIX: root });
    expectSame(result);
    const warnings = result.native.lines.filter((l) => l.startsWith('[WARNING] config.db'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^\[WARNING\] config\.db could not be copied consistently \(.+\); copied as-is$/);
    const copied = readFileSync(join(result.nativeStaging, 'var/lib/pve-cluster/config.db'));
    expect(copied.equals(damaged)).toBe(true);
  });
});

// Each switch gates exactly its rows of collect.md (config.md §5.2): with the host's defaults they are collected,
// with the switch off they are not and a SKIP line says so. `on` adds keys to both sides of the comparison.
interface Switch { key: string; host: string; gated?: readonly string[]; skip?: string; on?: Record<string, string> }
const SWITCHES: readonly Switch[] = [
  { key: 'BACKUP_CLUSTER_CONFIG', host: 'pve-cluster', gated: ['./etc/pve/datacenter.cfg', './var/lib/pve-cluster/config.db'], skip: 'PVE cluster configuration backup disabled' },
  { key: 'BACKUP_COROSYNC_CONFIG', host: 'pve-cluster', gated: ['./etc/corosync/corosync.conf', './etc/corosync/authkey'], skip: 'Corosync configuration backup disabled' },
  { key: 'BACKUP_CEPH_CONFIG', host: 'pve-cluster', gated: ['./etc/ceph/ceph.client.admin.keyring', `${C}/ceph/ceph_status.txt`], skip: 'Ceph configuration backup disabled' },
  { key: 'BACKUP_PVE_JOBS', host: 'pve-single', gated: [`${C}/pve/jobs/backup_jobs.json`, `${C}/pve/jobs/backup_history.json`], skip: 'PVE backup jobs backup disabled' },
  { key: 'BACKUP_PVE_SCHEDULES', host: 'pve-single', gated: [`${C}/pve/schedules/root_crontab.txt`, `${C}/pve/schedules/systemd_timers.txt`], skip: 'PVE schedules backup disabled' },
  { key: 'BACKUP_PVE_REPLICATION', host: 'pve-cluster', gated: [`${C}/pve/replication/replication_jobs.json`], skip: 'PVE replication backup disabled' },
  { key: 'BACKUP_VZDUMP_CONFIG', host: 'pve-single', gated: ['./etc/vzdump.conf'], skip: 'vzdump configuration backup disabled' },
  { key: 'BACKUP_PVE_BACKUP_FILES', host: 'pve-single', gated: [`${C}/pve/datastores/local/backup_analysis/local_backup_summary.txt`], skip: 'PVE backup file analysis disabled' },
  { key: 'BACKUP_PVE_FIREWALL', host: 'pve-cluster' },
  { key: 'BACKUP_VM_CONFIGS', host: 'pve-single' },
  { key: 'BACKUP_NETWORK_CONFIG', host: 'pbs', gated: ['./etc/network/interfaces', `${C}/network/ip_addr.txt`], skip: 'Network configuration backup disabled' },
  // /etc/apt/ is also a default custom path, so the switch alone is tested with custom paths emptied.
  { key: 'BACKUP_CRITICAL_FILES', host: 'pbs', gated: ['./etc/apt/sources.list'], skip: 'APT configuration backup disabled', on: { CUSTOM_BACKUP_PATHS: '' } },
  { key: 'BACKUP_SCRIPT_DIR', host: 'pbs', gated: ['./usr/local/bin/lab-healthcheck'], skip: 'Script directory backup disabled' },
  { key: 'BACKUP_CRONTABS', host: 'pbs', gated: ['./etc/crontab', './var/spool/cron/crontabs/root'], skip: 'Crontab backup disabled' },
  { key: 'BACKUP_ZFS_CONFIG', host: 'pve-single', gated: ['./etc/zfs/zpool.cache', `${C}/zfs/zpool_status.txt`], skip: 'ZFS configuration backup disabled' },
  { key: 'BACKUP_INSTALLED_PACKAGES', host: 'pbs', gated: [`${C}/packages/dpkg_list.txt`], skip: 'Installed packages backup disabled' },
  { key: 'BACKUP_REMOTE_CFG', host: 'pbs', gated: ['./etc/proxmox-backup/remote.cfg'] },
  { key: 'BACKUP_SMALL_PXAR', host: 'pbs', gated: ['./var/lib/proxmox-backup-info/files/pbs/small_pxar/store1/host/pve1/2024-11-23T03:00:00Z/small-config.pxar'] },
  { key: 'BACKUP_PXAR_FILES', host: 'pbs' },
  { key: 'AUTO_DETECT_DATASTORES', host: 'pbs' }, { key: 'AUTO_DETECT_DATASTORES', host: 'pve-single' },
  { key: 'BACKUP_STORAGE_STACK', host: 'pve-cluster', gated: ['./etc/lvm/backup/pve', './etc/multipath/bindings', './var/lib/iscsi/nodes/iqn.2005-10.org.freenas.ctl:pve-lun0/10.10.30.5,3260,1/default', `${C}/storage/lvs.txt`, `${C}/storage/blkid.txt`], skip: 'Storage stack backup disabled' },
  { key: 'BACKUP_NETWORK_CONFIG', host: 'pve-cluster' },
];

describe('collection switches off (config.md §5.2)', () => {
  it.each(SWITCHES)('$key=false on $host', async ({ key, host, gated = [], skip, on }) => {
    const result = await compareCollect(host, { ...on, [key]: 'false' });
    expectSame(result);
    const withSwitch = on === undefined ? (await defaults(host)).native : await nativeCollect(host, on);
    for (const path of gated) {
      expect({ path, on: withSwitch.tree.has(path), off: result.native.tree.has(path) }).toEqual({ path, on: true, off: false });
    }
    if (skip !== undefined) expect(result.legacy.lines).toContain(`[SKIP] ${skip}`);
    if (key === 'BACKUP_STORAGE_STACK') {
      const paths = [...result.native.tree.keys()];
      for (const gone of ['./etc/lvm', './etc/iscsi', './var/lib/iscsi', './etc/multipath', './etc/multipath.conf', `${C}/storage`]) {
        expect(paths.filter((p) => p === gone || p.startsWith(`${gone}/`))).toEqual([]);
      }
      expect(result.native.lines).toContain('[SKIP] Storage stack backup disabled');
      expect(paths).toContain('./etc/network/interfaces.d/sdn');   // the network rows stay
    }
    if (key === 'BACKUP_NETWORK_CONFIG' && host === 'pve-cluster') {
      const paths = [...result.native.tree.keys()];
      for (const gone of ['./etc/network', './etc/systemd/network', './etc/udev', `${C}/network`]) {
        expect(paths.filter((p) => p === gone || p.startsWith(`${gone}/`))).toEqual([]);
      }
      expect(paths).toContain('./etc/multipath.conf');   // the storage stack stays
    }
  });
});

describe('options that widen or narrow collection', () => {
  it.each([
    ['small and selected vzdump files', 'pve-single', { BACKUP_SMALL_PVE_BACKUPS: 'true', MAX_PVE_BACKUP_SIZE: '100000', PVE_BACKUP_INCLUDE_PATTERN: 'vzdump-qemu-100\nnotes' }],
    ['small and selected .pxar files', 'pbs', { BACKUP_SMALL_PXAR: 'true', PXAR_INCLUDE_PATTERN: 'pve1\ndidx' }],
    ['manual PBS datastore path', 'pbs', { AUTO_DETECT_DATASTORES: 'false', PBS_DATASTORE_PATH: '/srv/offsite' }],
    ['custom paths and blacklist (prefix and glob)', 'pve-single', {
      CUSTOM_BACKUP_PATHS: '/root/.config/rclone/rclone.conf\n/etc/pve/nodes\n/home/admin\n/etc/pve/local/../storage.cfg\n/nope',
      BACKUP_BLACKLIST: '/etc/pve/nodes/pve1/lxc\n*/qemu-server/101.conf\n/root/.bash_history\n/etc/ss?/private/',
    }],
    ['cloud on: rclone paths kept', 'pve-single', { ENABLE_CLOUD_BACKUP: 'true', CUSTOM_BACKUP_PATHS: '/root/.config/rclone/rclone.conf' }],
  ] as const)('%s', async (name, host, context) => {
    const result = await compareCollect(host, context);
    expectSame(result);
    if (name.startsWith('custom paths')) {
      const tree = result.native.tree;
      expect(tree.has('./etc/pve/nodes/pve1/qemu-server/100.conf')).toBe(true);
      expect(tree.has('./etc/pve/nodes/pve1/qemu-server/101.conf')).toBe(false);   // glob entry
      expect([...tree.keys()].some((p) => p.startsWith('./etc/pve/nodes/pve1/lxc'))).toBe(false);   // prefix entry
      expect(tree.has('./home/admin/.ssh/authorized_keys')).toBe(true);
      expect(tree.has('./root/.config/rclone/rclone.conf')).toBe(false);   // rclone paths only with the cloud on
      expect(result.legacy.lines).toContain('[INFO] Custom paths to process: 5 paths configured');
      expect(result.legacy.lines).toContain('[INFO] Blacklist paths: 4 paths configured');
    }
  });
});

describe('hostile host: every hazard (parity/hosts/README.md)', () => {
  it('keeps odd names as bytes, links as links, skips special files, bounds commands — as legacy does', async () => {
    const result = await compareCollect('hostile', { CUSTOM_BACKUP_PATHS: '/root\n/root/hazards/loop\n/etc/missing-on-purpose' });
    expectSame(result);
    const tree = result.native.tree;
    // names that are not text: a newline, a tab, an escape sequence, a byte that is not UTF-8
    for (const name of ['new\nline.cfg', 'tab\tname.cfg', 'esc\x1b[31mred.cfg', 'caf\xe9.cfg', '$(touch PWNED).cfg', '-leading-dash.cfg']) {
      expect(tree.get(`./etc/pve/${name}`)).toMatch(/^f 644 /);
    }
    // links are stored as links, never followed: a loop, an absolute link out of the root, a relative one escaping it
    expect(tree.get('./etc/pve/loop-a')).toMatch(/^l .* loop-b$/);
    expect(tree.get('./etc/pve/outside-link')).toMatch(/^l .* \/etc\/passwd$/);
    expect(tree.get('./etc/pve/escaping-relative-link')).toMatch(/^l .* \.\.\/\.\.\/.*\/etc\/shadow$/);
    expect(tree.get('./root/hazards/loop')).toMatch(/^l .* loop$/);
    // a FIFO and a socket are skipped (reading a FIFO would hang the run), an empty directory is kept
    expect(tree.has('./etc/pve/fifo')).toBe(false);
    expect(tree.has('./etc/pve/socket')).toBe(false);
    expect(tree.get('./etc/pve/empty-dir')).toMatch(/^d 755 /);
    expect(tree.get('./root/hazards/big-20M.bin')).toMatch(/^f 644 \d+:\d+ 20971520 /);
    const lines = result.native.lines;
    expect(lines).toContain('[DEBUG] Skipping special file: /etc/pve/fifo');
    expect(lines).toContain('[WARNING] Failed to collect custom path - /root/hazards/loop - symlink loop');
    expect(lines).toContain('[WARNING] File not found: /etc/missing-on-purpose');
    expect(lines).toContain('[WARNING] Failed to collect PVE users - command: pveum user list --output-format=json - ipcc_send_rec[1] failed: Connection refused');
    expect(lines).toContain('[DEBUG] Failed to collect PCI devices - command: lspci -v - timed out');   // hangs: ended by the timeout
    expect(tree.has(`${C}/system/lspci.txt`)).toBe(false);
    expect(tree.get(`${C}/system/lscpu.txt`)).toMatch(/^f 644 \d+:\d+ 0 /);   // stderr only, exit 0: kept, empty
    expect(lines.some((l) => l.includes('\u001b'))).toBe(false);
    if (process.getuid?.() !== 0) expect(lines).toContain('[WARNING] Failed to collect PVE configuration - /etc/pve/priv/unreadable.key');
  });
});
