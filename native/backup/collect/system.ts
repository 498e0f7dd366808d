// System section (collect.md §5) and custom paths (§7.1), the twin of legacy/lib/collect-system.sh.
import { readlinkSync } from 'node:fs';
import { compareBytes, escPath, fsPath, toBytes } from '../../core/bytes-path.js';
import { C_DIR, type Collector, type Filter, listDir, lstatOf, statOf } from './collector.js';
import type { CommandStep } from './pve.js';

/** Non-dot names of a directory in glob order (bash sorts a glob's matches). */
function globNames(dir: string): string[] {
  return listDir(dir).filter((n) => !n.startsWith('.')).sort(compareBytes);
}

/** collect_nonempty_tree: "absent or empty → skip". */
function nonEmptyTree(c: Collector, logical: string, dest: string, what: string, filter: Filter = ''): boolean {
  const src = `${c.srcRoot}${logical}`;
  const stat = lstatOf(src);
  if (stat?.isDirectory() === true && listDir(src).length === 0) {
    c.log.debug(`Empty: ${what} - ${escPath(logical)}`);
    c.skipped += 1;
    return true;
  }
  return c.tree(logical, dest, what, 'skip', filter);
}

/** S4: this tool's own install dir, without its runtime trees (and the primary paths when inside it). */
function scriptDir(c: Collector): boolean {
  const base = toBytes(c.facts.BASE_DIR).replace(/\/$/, '');
  const name = base.slice(base.lastIndexOf('/') + 1);
  const saved = c.blPrefixes;
  c.blPrefixes = [...saved, `${base}/log`, `${base}/backup`, `${base}/restore-safety`, `${base}/lock`,
    toBytes(c.config.LOCAL_BACKUP_PATH), toBytes(c.config.LOCAL_LOG_PATH)];
  try {
    return c.tree(base, `./script-repository/${name === '' ? 'root' : name}`, 'script directory', 'skip');
  } finally {
    c.blPrefixes = saved;
  }
}

export function collectSystemFiles(c: Collector): boolean {
  let ok = true;
  const step = (done: boolean): void => { ok = done && ok; };
  if (c.switchOn('BACKUP_NETWORK_CONFIG', 'Network configuration backup disabled')) {
    step(c.file('/etc/network/interfaces', './etc/network/interfaces', 'network interfaces', 'skip'));
  }
  step(c.file('/etc/os-release', `${C_DIR}/system/os-release.txt`, 'OS release', 'skip'));
  if (c.switchOn('BACKUP_CRITICAL_FILES', 'APT configuration backup disabled')) step(c.tree('/etc/apt', './etc/apt', 'APT configuration', 'skip'));
  if (c.switchOn('BACKUP_SCRIPT_DIR', 'Script directory backup disabled')) {
    step(scriptDir(c));
    step(nonEmptyTree(c, '/usr/local/bin', './usr/local/bin', 'local scripts (/usr/local/bin)'));
    step(nonEmptyTree(c, '/usr/local/sbin', './usr/local/sbin', 'local scripts (/usr/local/sbin)'));
  }
  if (c.switchOn('BACKUP_CRONTABS', 'Crontab backup disabled')) {
    step(c.file('/etc/crontab', './etc/crontab', 'system crontab', 'skip'));
    const dir = `${c.srcRoot}/var/spool/cron/crontabs`;
    for (const user of globNames(dir)) {
      const stat = lstatOf(`${dir}/${user}`);
      if (stat?.isFile() !== true) continue;
      step(c.file(`/var/spool/cron/crontabs/${user}`, `./var/spool/cron/crontabs/${user}`, 'user crontab', 'skip'));
    }
  }
  step(nonEmptyTree(c, '/etc/cron.d', './etc/cron.d', 'cron.d'));
  step(c.tree('/etc/cron.daily', './etc/cron.daily', 'cron.daily', 'skip'));
  step(c.tree('/etc/cron.weekly', './etc/cron.weekly', 'cron.weekly', 'skip'));
  step(c.tree('/etc/logrotate.d', './etc/logrotate.d', 'logrotate configuration', 'skip'));
  step(c.tree('/etc/systemd/system', './etc/systemd/system', 'systemd units', 'skip'));
  for (const name of ['fstab', 'resolv.conf', 'timezone', 'hostname', 'hosts', 'passwd']) {
    step(c.file(`/etc/${name}`, `./etc/${name}`, `/etc/${name}`, 'skip'));
  }
  step(c.tree('/etc/ssl', './etc/ssl', 'SSL configuration', 'skip', 'no-private'));
  for (const name of globNames(`${c.srcRoot}/etc/ssh`)) {
    if (!name.startsWith('ssh_host_') || !name.endsWith('.pub')) continue;
    step(c.file(`/etc/ssh/${name}`, `./etc/ssh/${name}`, 'SSH host public key', 'skip'));
  }
  step(nonEmptyTree(c, '/root/.ssh', './root/.ssh', 'root SSH keys', 'regular'));
  for (const user of globNames(`${c.srcRoot}/home`)) {
    const ssh = lstatOf(`${c.srcRoot}/home/${user}/.ssh`);
    if (ssh?.isDirectory() !== true) continue;
    step(c.tree(`/home/${user}/.ssh`, `./home/${user}/.ssh`, `SSH keys of ${user}`, 'skip', 'regular'));
  }
  return ok;
}

export function systemCommandSteps(c: Collector): (CommandStep | { skip: string } | { debug: string })[] {
  const d = C_DIR;
  const steps: (CommandStep | { skip: string } | { debug: string })[] = [];
  const add = (what: string, dest: string, severity: 'WARNING' | 'debug', argv: string[]): void => { steps.push({ what, dest, severity, argv }); };
  if (c.config.BACKUP_NETWORK_CONFIG) {
    add('IP addresses', `${d}/network/ip_addr.txt`, 'WARNING', ['ip', 'addr']);
    add('IP routes', `${d}/network/ip_route.txt`, 'WARNING', ['ip', 'route']);
    add('IP links', `${d}/network/ip_link.txt`, 'WARNING', ['ip', '-s', 'link']);
    add('iptables rules', `${d}/network/iptables.txt`, 'WARNING', ['iptables-save']);
    add('ip6tables rules', `${d}/network/ip6tables.txt`, 'WARNING', ['ip6tables-save']);
  } else {
    steps.push({ skip: 'Network configuration backup disabled' });
  }
  add('kernel information', `${d}/system/uname.txt`, 'WARNING', ['uname', '-a']);
  add('PCI devices', `${d}/system/lspci.txt`, 'debug', ['lspci', '-v']);
  add('block devices', `${d}/system/lsblk.txt`, 'debug', ['lsblk', '-f']);
  add('CPU information', `${d}/system/lscpu.txt`, 'debug', ['lscpu']);
  add('memory information', `${d}/system/memory.txt`, 'debug', ['free', '-h']);
  add('disk usage', `${d}/system/disk_space.txt`, 'debug', ['df', '-h']);
  add('services', `${d}/system/services.txt`, 'debug', ['systemctl', 'list-units', '--type=service', '--all', '--no-pager']);
  if (c.config.BACKUP_INSTALLED_PACKAGES) add('installed packages', `${d}/packages/dpkg_list.txt`, 'WARNING', ['dpkg', '-l']);
  else steps.push({ skip: 'Installed packages backup disabled' });
  return steps;
}

/** The ZFS part of the system commands: its tree comes between the commands, so it is its own step list. */
export function zfsSteps(c: Collector): (CommandStep | { debug: string })[] {
  if (!c.hasProgram('zfs')) return [{ debug: 'Command not available: zfs (skipping ZFS information)' }];
  const d = `${C_DIR}/zfs`;
  return [
    { what: 'ZFS datasets', dest: `${d}/zfs_list.txt`, severity: 'WARNING', argv: ['zfs', 'list'] },
    { what: 'ZFS pools', dest: `${d}/zpool_list.txt`, severity: 'WARNING', argv: ['zpool', 'list'] },
    { what: 'ZFS pool status', dest: `${d}/zpool_status.txt`, severity: 'WARNING', argv: ['zpool', 'status'] },
    { what: 'ZFS properties', dest: `${d}/zfs_get_all.txt`, severity: 'WARNING', argv: ['zfs', 'get', 'all'] },
  ];
}

/** collect_resolve_in_root: symlinks resolved inside SYSTEM_ROOT_PREFIX; undefined on a loop (more than 40 links). */
export function resolveInRoot(c: Collector, logical: string): string | undefined {
  let rest = logical.replace(/^\//, '');
  let done = '';
  let hops = 0;
  while (rest !== '') {
    const slash = rest.indexOf('/');
    const part = slash < 0 ? rest : rest.slice(0, slash);
    rest = slash < 0 ? '' : rest.slice(slash + 1);
    if (part === '' || part === '.') continue;
    if (part === '..') {
      done = done.slice(0, Math.max(0, done.lastIndexOf('/')));
      continue;
    }
    if (lstatOf(`${c.srcRoot}${done}/${part}`)?.isSymbolicLink() === true) {
      hops += 1;
      if (hops > 40) return undefined;
      const target = readlinkSync(fsPath(`${c.srcRoot}${done}/${part}`), { encoding: 'buffer' }).toString('latin1');
      if (target.startsWith('/')) done = '';
      rest = `${target.replace(/^\//, '')}${rest === '' ? '' : `/${rest}`}`;
      continue;
    }
    done += `/${part}`;
  }
  return done === '' ? '/' : done;
}

function customPath(c: Collector, item: string): boolean {
  if (!c.config.ENABLE_CLOUD_BACKUP && item.includes('rclone')) {
    c.log.debug('Skipping rclone path (cloud backup disabled)');
    c.skipped += 1;
    return true;
  }
  const path = resolveInRoot(c, item);
  if (path === undefined) {
    c.fail('custom path', item, 'symlink loop');
    return true;
  }
  if (c.isProhibited(path)) {
    c.log.info(`Skipping path with prohibited pattern: ${escPath(path)}`);
    c.skipped += 1;
    return true;
  }
  if (c.isBlacklisted(path)) {
    c.log.info(`Skipping blacklisted file: ${escPath(path)}`);
    c.skipped += 1;
    return true;
  }
  const stat = statOf(`${c.srcRoot}${path}`);
  if (stat === undefined) {
    c.failed += 1;
    c.log.warning(`File not found: ${escPath(path)}`);
    return true;
  }
  if (stat.isDirectory()) return c.tree(path, `.${path.replace(/\/$/, '')}`, 'custom path', 'skip');
  return c.file(path, `.${path}`, 'custom path', 'skip');
}

export function collectCustomPaths(c: Collector): boolean {
  const items = c.config.CUSTOM_BACKUP_PATHS.map(toBytes).filter((i) => i !== '');
  c.log.info(`Custom paths to process: ${items.length} paths configured`);
  let ok = true;
  for (const item of items) ok = customPath(c, item) && ok;
  c.log.info('Custom files collected successfully');
  return ok;
}

/**
 * What a rebuilt node needs beyond upstream (collect.md §5.3, decision 23): S50–S63, after S46. The network switch
 * already logged its SKIP line; the storage stack logs its own once.
 */
export function collectRebuildFiles(c: Collector): boolean {
  let ok = true;
  const step = (done: boolean): void => { ok = done && ok; };
  const network = c.config.BACKUP_NETWORK_CONFIG;
  const storage = c.switchOn('BACKUP_STORAGE_STACK', 'Storage stack backup disabled');
  if (network) {
    step(c.tree('/etc/network/interfaces.d', './etc/network/interfaces.d', 'network interfaces.d', 'skip'));
    step(c.tree('/etc/systemd/network', './etc/systemd/network', 'systemd network configuration', 'skip'));
    step(c.tree('/etc/udev/rules.d', './etc/udev/rules.d', 'udev rules', 'skip'));
  }
  step(c.tree('/etc/modprobe.d', './etc/modprobe.d', 'kernel module options', 'skip'));
  step(c.file('/etc/modules', './etc/modules', 'kernel modules', 'skip'));
  step(c.tree('/etc/modules-load.d', './etc/modules-load.d', 'kernel modules-load.d', 'skip'));
  step(c.file('/etc/kernel/cmdline', './etc/kernel/cmdline', 'kernel command line', 'skip'));
  step(c.file('/etc/kernel/proxmox-boot-uuids', './etc/kernel/proxmox-boot-uuids', 'boot partition UUIDs', 'skip'));
  step(c.file('/etc/default/grub', './etc/default/grub', 'GRUB defaults', 'skip'));
  step(c.tree('/etc/default/grub.d', './etc/default/grub.d', 'GRUB defaults (grub.d)', 'skip'));
  step(c.file('/etc/sysctl.conf', './etc/sysctl.conf', 'sysctl configuration', 'skip'));
  step(c.tree('/etc/sysctl.d', './etc/sysctl.d', 'sysctl.d', 'skip'));
  step(c.file('/etc/hostid', './etc/hostid', 'host id', 'skip'));
  step(c.tree('/etc/cron.hourly', './etc/cron.hourly', 'cron.hourly', 'skip'));
  step(c.tree('/etc/cron.monthly', './etc/cron.monthly', 'cron.monthly', 'skip'));
  if (storage) {
    step(c.tree('/etc/lvm', './etc/lvm', 'LVM configuration', 'skip', 'no-cache'));
    step(c.tree('/etc/iscsi', './etc/iscsi', 'iSCSI configuration', 'skip'));
    step(c.tree('/var/lib/iscsi', './var/lib/iscsi', 'iSCSI node records', 'skip'));
    step(c.file('/etc/multipath.conf', './etc/multipath.conf', 'multipath configuration', 'skip'));
    step(c.tree('/etc/multipath', './etc/multipath', 'multipath bindings', 'skip'));
    step(c.tree('/etc/mdadm', './etc/mdadm', 'mdadm configuration', 'skip'));
    step(c.file('/etc/crypttab', './etc/crypttab', 'crypttab', 'skip'));
  }
  step(c.file('/proc/cmdline', `${C_DIR}/system/kernel_cmdline.txt`, 'running kernel command line', 'skip'));
  if (network) {
    const dir = `${c.srcRoot}/proc/net/bonding`;
    for (const name of globNames(dir)) {
      if (lstatOf(`${dir}/${name}`)?.isFile() !== true) continue;
      step(c.file(`/proc/net/bonding/${name}`, `${C_DIR}/network/bonding/${name}.txt`, 'bonding status', 'skip'));
    }
  }
  return ok;
}

/** S70–S73 (S74/S75, the cluster commands, need the cluster probe: the caller adds them). */
export function rebuildCommandSteps(c: Collector): (CommandStep | { debug: string })[] {
  const d = C_DIR;
  const steps: (CommandStep | { debug: string })[] = [];
  if (c.config.BACKUP_NETWORK_CONFIG) {
    steps.push({ what: 'bridge VLANs', dest: `${d}/network/bridge_vlan.json`, severity: 'debug', argv: ['bridge', '-j', 'vlan', 'show'] });
  }
  if (c.config.BACKUP_STORAGE_STACK) {
    steps.push({ what: 'block device attributes', dest: `${d}/storage/blkid.txt`, severity: 'debug', argv: ['blkid'] },
      { what: 'block device tree', dest: `${d}/storage/lsblk.json`, severity: 'debug', argv: ['lsblk', '-J', '-O'] });
    if (c.hasProgram('pvs')) {
      steps.push({ what: 'LVM physical volumes', dest: `${d}/storage/pvs.txt`, severity: 'debug', argv: ['pvs', '--units', 'b'] },
        { what: 'LVM volume groups', dest: `${d}/storage/vgs.txt`, severity: 'debug', argv: ['vgs', '--units', 'b'] },
        { what: 'LVM logical volumes', dest: `${d}/storage/lvs.txt`, severity: 'debug', argv: ['lvs', '-a', '--units', 'b'] });
    } else {
      steps.push({ debug: 'Command not available: pvs (skipping LVM information)' });
    }
  }
  return steps;
}

/** S74, S75: on a PVE cluster member (collect.md §3.4) with BACKUP_CLUSTER_CONFIG on. */
export function clusterCommandSteps(): CommandStep[] {
  const d = `${C_DIR}/pve`;
  return [
    { what: 'PVE cluster status', dest: `${d}/cluster_status.txt`, severity: 'WARNING', argv: ['pvecm', 'status'] },
    { what: 'PVE cluster nodes', dest: `${d}/cluster_nodes.txt`, severity: 'WARNING', argv: ['pvecm', 'nodes'] },
  ];
}
