// Each collection switch (config.md §5.2) gates exactly its rows of collect.md: on by default the paths
// are in the archive, with the switch off they are not, and a SKIP line says so.
import { describe, expect, it } from 'vitest';
import { archiveIn, logOf, makeSandbox, runLegacy, tarList } from './run.js';

const C = './var/lib/proxmox-backup-info/commands';


const SWITCHES = [
  { key: 'BACKUP_CLUSTER_CONFIG', host: 'pve-cluster', gated: ['./etc/pve/datacenter.cfg', './var/lib/pve-cluster/config.db'], skip: 'PVE cluster configuration backup disabled' },
  { key: 'BACKUP_COROSYNC_CONFIG', host: 'pve-cluster', gated: ['./etc/corosync/corosync.conf', './etc/corosync/authkey'], skip: 'Corosync configuration backup disabled' },
  { key: 'BACKUP_CEPH_CONFIG', host: 'pve-cluster', gated: ['./etc/ceph/ceph.client.admin.keyring', `${C}/ceph/ceph_status.txt`], skip: 'Ceph configuration backup disabled' },
  { key: 'BACKUP_PVE_JOBS', host: 'pve-single', gated: [`${C}/pve/jobs/backup_jobs.json`, `${C}/pve/jobs/backup_history.json`], skip: 'PVE backup jobs backup disabled' },
  { key: 'BACKUP_PVE_SCHEDULES', host: 'pve-single', gated: [`${C}/pve/schedules/root_crontab.txt`, `${C}/pve/schedules/systemd_timers.txt`], skip: 'PVE schedules backup disabled' },
  { key: 'BACKUP_PVE_REPLICATION', host: 'pve-cluster', gated: [`${C}/pve/replication/replication_jobs.json`], skip: 'PVE replication backup disabled' },
  { key: 'BACKUP_VZDUMP_CONFIG', host: 'pve-single', gated: ['./etc/vzdump.conf'], skip: 'vzdump configuration backup disabled' },
  { key: 'BACKUP_PVE_BACKUP_FILES', host: 'pve-single', gated: [`${C}/pve/datastores/local/backup_analysis/local_backup_summary.txt`], skip: 'PVE backup file analysis disabled' },
  { key: 'BACKUP_NETWORK_CONFIG', host: 'pbs', gated: ['./etc/network/interfaces', `${C}/network/ip_addr.txt`], skip: 'Network configuration backup disabled' },
  // /etc/apt/ is also a default custom path, so the switch alone is tested with custom paths emptied.
  { key: 'BACKUP_CRITICAL_FILES', host: 'pbs', gated: ['./etc/apt/sources.list'], skip: 'APT configuration backup disabled', config: { CUSTOM_BACKUP_PATHS: '' } },
  { key: 'BACKUP_SCRIPT_DIR', host: 'pbs', gated: ['./usr/local/bin/lab-healthcheck'], skip: 'Script directory backup disabled' },
  { key: 'BACKUP_CRONTABS', host: 'pbs', gated: ['./etc/crontab', './var/spool/cron/crontabs/root'], skip: 'Crontab backup disabled' },
  { key: 'BACKUP_ZFS_CONFIG', host: 'pve-single', gated: ['./etc/zfs/zpool.cache', `${C}/zfs/zpool_status.txt`], skip: 'ZFS configuration backup disabled' },
  { key: 'BACKUP_STORAGE_STACK', host: 'pve-cluster', gated: ['./etc/lvm/backup/pve', './etc/multipath/bindings', './var/lib/iscsi/nodes/iqn.2005-10.org.freenas.ctl:pve-lun0/10.10.30.5,3260,1/default', `${C}/storage/lvs.txt`, `${C}/storage/blkid.txt`], skip: 'Storage stack backup disabled' },
  { key: 'BACKUP_INSTALLED_PACKAGES', host: 'pbs', gated: [`${C}/packages/dpkg_list.txt`], skip: 'Installed packages backup disabled' },
  { key: 'BACKUP_REMOTE_CFG', host: 'pbs', gated: ['./etc/proxmox-backup/remote.cfg'], skip: undefined },
  { key: 'BACKUP_SMALL_PXAR', host: 'pbs', gated: ['./var/lib/proxmox-backup-info/files/pbs/small_pxar/store1/host/pve1/2024-11-23T03:00:00Z/small-config.pxar'], skip: undefined },
] as const;

describe.each(SWITCHES)('$key', (row) => {
  const { key, host, gated, skip } = row;
  const config: Record<string, string> = 'config' in row ? row.config : {};
  it('collects its rows when on and none of them when off', async () => {
    const on = makeSandbox(config);
    const off = makeSandbox({ ...config, [key]: 'false' });
    const [onResult, offResult] = await Promise.all([runLegacy(host, on), runLegacy(host, off)]);
    expect(onResult.exitCode).toBeLessThan(2);
    expect(offResult.exitCode).toBeLessThan(2);
    const [onEntries, offEntries] = await Promise.all([tarList(archiveIn(on) ?? ''), tarList(archiveIn(off) ?? '')]);
    for (const path of gated) {
      expect(onEntries).toContain(path);
      expect(offEntries).not.toContain(path);
    }
    if (skip !== undefined) expect(logOf(off)).toContain(`[SKIP] ${skip}`);
  });
});

describe('custom paths and blacklist (collect.md §7)', () => {
  it('collects custom paths, honours prefix and glob blacklist entries, skips rclone without cloud', async () => {
    const sandbox = makeSandbox({
      CUSTOM_BACKUP_PATHS: '/root/.config/rclone/rclone.conf\n/etc/pve/nodes\n/home/admin',
      BACKUP_BLACKLIST: '/etc/pve/nodes/pve1/lxc\n*/qemu-server/101.conf\n/root/.bash_history',
    });
    expect((await runLegacy('pve-single', sandbox)).exitCode).toBe(0);
    const entries = await tarList(archiveIn(sandbox) ?? '');
    expect(entries).toContain('./etc/pve/nodes/pve1/qemu-server/100.conf');
    expect(entries).not.toContain('./etc/pve/nodes/pve1/qemu-server/101.conf');
    expect(entries.some((e) => e.startsWith('./etc/pve/nodes/pve1/lxc'))).toBe(false);
    expect(entries).toContain('./home/admin/.ssh/authorized_keys');
    expect(entries).not.toContain('./root/.config/rclone/rclone.conf');
    const log = logOf(sandbox);
    expect(log).toContain('[INFO] Custom paths to process: 3 paths configured');
    expect(log).toContain('[INFO] Blacklist paths: 3 paths configured');
  });
});
