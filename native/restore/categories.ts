// The category table of restore.md §5.2 and its matching (§5.1): the twin of legacy/lib/restore.pl's
// @CATEGORIES, glob_re and category_of. Pure. Names are byte strings (latin1 JS strings); a regex `$` is written
// `\n?$` where the Perl one is a bare `$` (Perl's also matches before a final newline, and a name may end in one).

export type OnRoot = 'never' | 'guarded' | 'yes' | 'no';

export interface Category {
  readonly name: string;
  readonly onRoot: OnRoot;
  readonly patterns: readonly string[];
}

const P = (names: readonly string[]): string[] => names.map((n) => `etc/pve/${n}`);
const B = (names: readonly string[]): string[] => names.map((n) => `etc/proxmox-backup/${n}`);

/** restore.pl @CATEGORIES, in its order: `(reports)` first (it wins over every other row), `custom-paths` last. */
export const CATEGORIES: readonly Category[] = [
  { name: '(reports)', onRoot: 'never', patterns: ['var/lib/proxmox-backup-info', 'var/lib/pve-cluster/info', 'var/lib/pve-cluster/small_backups',
    'var/lib/pve-cluster/selected_backups', 'var/lib/proxmox-backup', 'chunked_files', ...P(['.version', '.members', '.vmlist', '.clusterlog',
      '.rrd', '.debug'])] },
  { name: 'pve-cluster', onRoot: 'guarded', patterns: ['var/lib/pve-cluster'] },
  { name: 'corosync', onRoot: 'guarded', patterns: ['etc/corosync', 'etc/pve/corosync.conf'] },
  { name: 'vm-configs', onRoot: 'yes', patterns: ['etc/pve/nodes/*/qemu-server/*.conf', 'etc/pve/nodes/*/lxc/*.conf'] },
  { name: 'firewall', onRoot: 'yes', patterns: ['etc/pve/firewall', 'etc/pve/nodes/*/host.fw'] },
  { name: 'storage', onRoot: 'yes', patterns: ['etc/pve/storage.cfg', 'etc/pve/priv/storage', 'etc/vzdump.conf'] },
  { name: 'jobs', onRoot: 'yes', patterns: [...P(['jobs.cfg', 'vzdump.cron', 'replication.cfg']), 'etc/cron.d/vzdump',
    ...B(['sync.cfg', 'verification.cfg', 'prune.cfg', 'tape-job.cfg'])] },
  { name: 'users-acl', onRoot: 'yes', patterns: [...P(['user.cfg', 'domains.cfg', 'priv/shadow.cfg', 'priv/token.cfg', 'priv/tfa.cfg']),
    ...B(['user.cfg', 'acl.cfg', 'domains.cfg', 'token.cfg', 'token.shadow', 'shadow.json', 'tfa.json'])] },
  { name: 'ceph', onRoot: 'yes', patterns: ['etc/ceph', 'etc/pve/ceph.conf', 'etc/pve/priv/ceph*'] },
  { name: 'pve-config', onRoot: 'yes', patterns: ['etc/pve'] },
  { name: 'pbs', onRoot: 'yes', patterns: ['etc/proxmox-backup'] },
  { name: 'network', onRoot: 'yes', patterns: ['etc/network', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'etc/systemd/network',
    'etc/udev/rules.d'] },
  { name: 'storage-stack', onRoot: 'guarded', patterns: ['etc/lvm', 'etc/iscsi', 'etc/multipath', 'etc/multipath.conf', 'etc/mdadm',
    'etc/crypttab', 'etc/hostid', 'var/lib/iscsi'] },
  { name: 'ssh-keys', onRoot: 'yes', patterns: ['etc/ssh', 'root/.ssh', 'home/*/.ssh'] },
  { name: 'cron', onRoot: 'yes', patterns: ['etc/crontab', 'etc/cron.d', 'etc/cron.hourly', 'etc/cron.daily', 'etc/cron.weekly',
    'etc/cron.monthly', 'var/spool/cron'] },
  { name: 'apt', onRoot: 'yes', patterns: ['etc/apt'] },
  { name: 'accounts', onRoot: 'guarded', patterns: ['etc/passwd', 'etc/group', 'etc/shadow', 'etc/gshadow'] },
  { name: 'system', onRoot: 'yes', patterns: ['etc/fstab', 'etc/timezone', 'etc/systemd', 'etc/logrotate.d', 'etc/ssl', 'etc/modprobe.d',
    'etc/modules', 'etc/modules-load.d', 'etc/kernel', 'etc/default/grub', 'etc/default/grub.d', 'etc/sysctl.conf', 'etc/sysctl.d',
    'usr/local'] },
  { name: 'tool', onRoot: 'no', patterns: ['script-repository'] },
  { name: 'custom-paths', onRoot: 'yes', patterns: [] },
];

/** The categories restore.sh guards on `/` (§5.5) and the two that also need pmxcfs stopped. */
export const GUARDED_CATEGORIES: readonly string[] = ['pve-cluster', 'corosync', 'storage-stack', 'accounts'];
export const CLUSTER_CATEGORIES: readonly string[] = ['pve-cluster', 'corosync'];

const COVERS_TEXT: Readonly<Record<string, string>> = {
  'pve-config': 'the rest of etc/pve', pbs: 'the rest of etc/proxmox-backup', 'custom-paths': 'every other non-directory',
};

/** The table order of --list-categories and of the counts: every row but `(reports)`, then `(reports)`. */
export const CATEGORY_ORDER: readonly string[] = [...CATEGORIES.slice(1).map((c) => c.name), '(reports)'];

/** on_root: the `ON /` cell of a category ('' for an unknown name). */
export function onRoot(name: string): string {
  return CATEGORIES.find((c) => c.name === name)?.onRoot ?? '';
}

/** cmd_categories: [name, on /, covers] per row, in CATEGORY_ORDER (the §5.3 table without --archive). */
export function categoryRows(): string[][] {
  return [...CATEGORIES.slice(1), CATEGORIES[0] as Category].map((c) => [c.name, c.onRoot, COVERS_TEXT[c.name] ?? c.patterns.join(', ')]);
}

const quote = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** glob_re: one pattern component; `*` and `?` never match `/`, a `[…]` class is copied (`[!` as `[^`). */
export function globRe(component: string): string {
  let re = '';
  const token = /(\*)|(\?)|(\[!?\]?[^\]]*\])|([\s\S])/gy;
  for (let m = token.exec(component); m !== null; m = token.exec(component)) {
    if (m[1] !== undefined) re += '[^/]*';
    else if (m[2] !== undefined) re += '[^/]';
    else if (m[3] !== undefined) re += m[3].replace(/^\[!/, '[^');
    else re += quote(m[4] ?? '');
  }
  return re;
}

interface Matcher { readonly name: string; readonly patterns: readonly { count: number; re: RegExp }[] }

const MATCHERS: readonly Matcher[] = CATEGORIES.map((c) => ({
  name: c.name,
  patterns: c.patterns.map((p) => {
    const parts = p.split('/');
    return { count: parts.length, re: new RegExp(`^${parts.map(globRe).join('/')}\\n?$`, 's') };
  }),
}));

/** Perl's split m{/}: trailing empty fields dropped. */
function splitPath(path: string): string[] {
  const parts = path.split('/');
  while (parts.length > 0 && parts.at(-1) === '') parts.pop();
  return parts;
}

/**
 * category_of: the first row covering a normalised NAME (a pattern matches it or an ancestor); '-' for a
 * structural directory, `custom-paths` for any other uncovered entry.
 */
export function categoryOf(name: string, isDir: boolean): string {
  const parts = splitPath(name);
  for (const m of MATCHERS) {
    for (const p of m.patterns) {
      if (parts.length >= p.count && p.re.test(parts.slice(0, p.count).join('/'))) return m.name;
    }
  }
  return isDir ? '-' : 'custom-paths';
}
