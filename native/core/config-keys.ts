// The one table of configuration keys (spec/config.md §5–7): type, default, range, domain, meaning.
// The TypeScript loader reads it directly; legacy/lib/config-keys.tsv is generated from it
// (npm run gen:keys) so that both loaders validate against the same schema.

export type KeyKind =
  | 'bool' | 'int' | 'size' | 'path' | 'list' | 'csv' | 'enum' | 'string' | 'secret' | 'version';

export type Domain = 'cli' | 'orchestrator' | 'backup' | 'storage' | 'notify' | 'metrics' | 'security';

export interface KeySpec {
  readonly name: string;
  readonly kind: KeyKind;
  readonly defaultValue: string;   // raw text, `${BASE_DIR}` expanded at load time
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  readonly secret?: boolean;       // list keys can be secret too (WEBHOOK_URLS)
  readonly domain: Domain;
  readonly description: string;
}

// The helpers keep each key's name and kind as literal types: ConfigValues (below) is derived from them, so a
// stage reading a key that does not exist, or a bool as a number, does not compile.
const bool = <const N extends string>(name: N, defaultValue: 'true' | 'false', domain: Domain, description: string) =>
  ({ name, kind: 'bool', defaultValue, domain, description }) as const satisfies KeySpec;
const int = <const N extends string>(name: N, defaultValue: number, min: number, max: number | undefined, domain: Domain,
  description: string) =>
  ({ name, kind: 'int', defaultValue: String(defaultValue), min, ...(max === undefined ? {} : { max }), domain, description }) as const satisfies KeySpec;
const str = <const N extends string>(name: N, defaultValue: string, domain: Domain, description: string) =>
  ({ name, kind: 'string', defaultValue, domain, description }) as const satisfies KeySpec;
const path = <const N extends string>(name: N, defaultValue: string, domain: Domain, description: string) =>
  ({ name, kind: 'path', defaultValue, domain, description }) as const satisfies KeySpec;
const enumKey = <const N extends string, const V extends readonly string[]>(name: N, values: V, defaultValue: V[number],
  domain: Domain, description: string) => ({ name, kind: 'enum', values, defaultValue, domain, description }) as const satisfies KeySpec;
const secret = <const N extends string>(name: N, domain: Domain, description: string) =>
  ({ name, kind: 'secret', defaultValue: '', secret: true, domain, description }) as const satisfies KeySpec;

const DEFAULT_CUSTOM_PATHS = [
  '/root/.config/rclone/rclone.conf', '/etc/apt/', '/etc/gshadow', '/etc/shadow', '/etc/group', '/root',
].join('\n');

const DEFAULT_BLACKLIST = [
  '/etc/proxmox-backup/.debug', '/etc/proxmox-backup/.tmp', '/etc/proxmox-backup/.lock',
  '/etc/proxmox-backup/tasks', '/root/.bash_history', '/root/.cache', '/root/.npm', '/root/.dotnet',
  '/root/.local', '/root/.gnupg', '${BASE_DIR}/log/', '${BASE_DIR}/backup/',
].join('\n');

const DEFAULT_RCLONE_FLAGS = '--transfers=16 --checkers=4 --stats=0 --drive-use-trash=false '
  + '--drive-pacer-min-sleep=10ms --drive-pacer-burst=100';

const COLOURS = [
  ['RED', '\\033[0;31m'], ['GREEN', '\\033[0;32m'], ['YELLOW', '\\033[1;33m'], ['BLUE', '\\033[0;34m'],
  ['PURPLE', '\\033[0;35m'], ['CYAN', '\\033[0;36m'], ['GRAY', '\\033[0;90m'], ['PINK', '\\033[38;5;213m'],
  ['BOLD', '\\033[1m'], ['RESET', '\\033[0m'],
] as const;

const NO_EFFECT = 'accepted, no effect';

const TABLE = [
  // 5.1 General
  { name: 'MIN_BASH_VERSION', kind: 'version', defaultValue: '4.4.0', domain: 'orchestrator',
    description: 'minimum Bash version of the legacy implementation' },
  enumKey('DEBUG_LEVEL', ['standard', 'advanced', 'extreme'], 'standard', 'orchestrator', 'log verbosity'),
  bool('DISABLE_COLORS', 'false', 'orchestrator', 'no ANSI colours on the console'),
  // 5.2 Collection switches
  bool('BACKUP_INSTALLED_PACKAGES', 'true', 'backup', 'package list (dpkg -l)'),
  bool('BACKUP_SCRIPT_DIR', 'true', 'backup', 'this tool\'s install dir, /usr/local/bin, /usr/local/sbin'),
  bool('BACKUP_CRONTABS', 'true', 'backup', '/etc/crontab and user crontabs'),
  bool('BACKUP_ZFS_CONFIG', 'true', 'backup', 'zfs/zpool outputs and /etc/zfs'),
  bool('BACKUP_CRITICAL_FILES', 'true', 'backup', '/etc/apt tree'),
  bool('BACKUP_NETWORK_CONFIG', 'true', 'backup', 'network files and ip/firewall dumps'),
  bool('BACKUP_STORAGE_STACK', 'true', 'backup', 'LVM metadata, iSCSI, multipath, mdadm, crypttab, blkid/lsblk/pvs outputs (decision 23)'),
  bool('BACKUP_REMOTE_CFG', 'true', 'backup', 'PBS: keep remote.cfg'),
  bool('BACKUP_CLUSTER_CONFIG', 'true', 'backup', 'PVE: /etc/pve tree and config.db'),
  bool('BACKUP_COROSYNC_CONFIG', 'true', 'backup', 'PVE: corosync.conf on cluster nodes'),
  bool('BACKUP_PVE_FIREWALL', 'true', 'backup', 'PVE: /etc/pve/firewall'),
  bool('BACKUP_VM_CONFIGS', 'true', 'backup', 'PVE: guest configuration files'),
  bool('BACKUP_VZDUMP_CONFIG', 'true', 'backup', 'PVE: /etc/vzdump.conf'),
  bool('BACKUP_CEPH_CONFIG', 'true', 'backup', 'PVE: /etc/ceph and ceph outputs'),
  bool('BACKUP_PVE_JOBS', 'true', 'backup', 'PVE: backup job definitions and history'),
  bool('BACKUP_PVE_SCHEDULES', 'true', 'backup', 'PVE: crontab, cron.d files, timers'),
  bool('BACKUP_PVE_REPLICATION', 'true', 'backup', 'PVE: replication jobs and status'),
  bool('BACKUP_PXAR_FILES', 'true', 'backup', 'PBS: datastore scan'),
  bool('BACKUP_SMALL_PXAR', 'true', 'backup', 'PBS: copy small .pxar files'),
  bool('BACKUP_PVE_BACKUP_FILES', 'true', 'backup', 'PVE: vzdump file analysis'),
  bool('BACKUP_SMALL_PVE_BACKUPS', 'false', 'backup', 'PVE: copy small vzdump files'),
  // 5.3 Storage switches
  bool('ENABLE_SECONDARY_BACKUP', 'false', 'storage', 'secondary tier'),
  bool('ENABLE_CLOUD_BACKUP', 'false', 'storage', 'cloud tier via rclone'),
  bool('SECONDARY_BACKUP_REQUIRED', 'false', 'storage', NO_EFFECT),
  bool('CLOUD_BACKUP_REQUIRED', 'false', 'storage', NO_EFFECT),
  bool('MULTI_STORAGE_PARALLEL', 'false', 'storage', 'secondary copy and cloud upload concurrently'),
  // 5.4 Security
  bool('ABORT_ON_SECURITY_ISSUES', 'false', 'security', 'security findings stop the run with exit 2'),
  bool('AUTO_UPDATE_HASHES', 'true', 'security', 'rewrite the integrity manifest on mismatch (logged)'),
  bool('REMOVE_UNAUTHORIZED_FILES', 'false', 'security', NO_EFFECT),
  bool('CHECK_NETWORK_SECURITY', 'false', 'security', 'enable network checks'),
  bool('CHECK_FIREWALL', 'false', 'security', 'warn when no firewall rules are loaded'),
  bool('CHECK_OPEN_PORTS', 'false', 'security', 'warn about listeners outside the allowed set'),
  bool('FULL_SECURITY_CHECK', 'true', 'security', 'full security check'),
  // 5.5 Archive optimisations
  bool('ENABLE_DEDUPLICATION', 'false', 'backup', NO_EFFECT),
  bool('ENABLE_PREFILTER', 'true', 'backup', NO_EFFECT),
  bool('ENABLE_SMART_CHUNKING', 'true', 'backup', NO_EFFECT),
  // 5.6 Monitoring, notifications, permissions
  bool('ENABLE_LOG_MANAGEMENT', 'true', 'orchestrator', 'per-run log file and log tiers'),
  bool('ENABLE_EMOJI_LOG', 'true', 'notify', NO_EFFECT),
  bool('TELEGRAM_ENABLED', 'false', 'notify', 'Telegram channel'),
  bool('EMAIL_ENABLED', 'false', 'notify', 'e-mail channel'),
  bool('PROMETHEUS_ENABLED', 'true', 'metrics', 'Prometheus textfile'),
  bool('SET_BACKUP_PERMISSIONS', 'true', 'storage', 'permission step on backup and log dirs'),
  // 5.7 Paths and storage
  int('STORAGE_WARNING_THRESHOLD_PRIMARY', 90, 0, 100, 'storage', 'primary use% warning threshold'),
  int('STORAGE_WARNING_THRESHOLD_SECONDARY', 90, 0, 100, 'storage', 'secondary use% warning threshold'),
  bool('AUTO_DETECT_DATASTORES', 'true', 'backup', 'discover PBS datastores and PVE storages'),
  path('LOCAL_BACKUP_PATH', '${BASE_DIR}/backup', 'storage', 'primary archive dir'),
  path('SECONDARY_BACKUP_PATH', '', 'storage', 'secondary archive dir'),
  str('CLOUD_BACKUP_PATH', '/proxmox-backup/backup', 'storage', 'archive path on the rclone remote'),
  path('LOCAL_LOG_PATH', '${BASE_DIR}/log', 'orchestrator', 'primary log dir'),
  path('SECONDARY_LOG_PATH', '', 'storage', 'secondary log dir'),
  str('CLOUD_LOG_PATH', '/proxmox-backup/log', 'storage', 'log path on the rclone remote'),
  int('MAX_LOCAL_BACKUPS', 20, 0, undefined, 'storage', 'primary archives kept (0 = all)'),
  int('MAX_SECONDARY_BACKUPS', 20, 0, undefined, 'storage', 'secondary archives kept (0 = all)'),
  int('MAX_CLOUD_BACKUPS', 20, 0, undefined, 'storage', 'cloud archives kept (0 = all)'),
  int('MAX_LOCAL_LOGS', 20, 0, undefined, 'storage', 'primary logs kept (0 = all)'),
  int('MAX_SECONDARY_LOGS', 20, 0, undefined, 'storage', 'secondary logs kept (0 = all)'),
  int('MAX_CLOUD_LOGS', 20, 0, undefined, 'storage', 'cloud logs kept (0 = all)'),
  path('PBS_DATASTORE_PATH', '', 'backup', 'manual PBS datastore root'),
  path('PVE_CONFIG_PATH', '/etc/pve', 'backup', 'PVE config tree'),
  path('PVE_CLUSTER_PATH', '/var/lib/pve-cluster', 'backup', 'dir holding config.db'),
  path('COROSYNC_CONFIG_PATH', '/etc/corosync', 'backup', 'dir holding corosync.conf'),
  path('VZDUMP_CONFIG_PATH', '/etc/vzdump.conf', 'backup', 'vzdump defaults file'),
  path('CEPH_CONFIG_PATH', '/etc/ceph', 'backup', 'Ceph config dir'),
  // 5.8 Compression
  enumKey('COMPRESSION_TYPE', ['xz', 'zstd', 'gzip', 'pigz', 'bzip2', 'lzma', 'none'], 'xz', 'backup', 'compressor'),
  int('COMPRESSION_LEVEL', 9, 1, 22, 'backup', 'level in mode standard'),
  enumKey('COMPRESSION_MODE', ['fast', 'standard', 'maximum', 'ultra'], 'ultra', 'backup', 'compression mode'),
  int('COMPRESSION_THREADS', 0, 0, 64, 'backup', 'compressor threads (0 = CPUs)'),
  // 5.9 Cloud / rclone
  str('RCLONE_REMOTE', 'gdrive', 'storage', 'rclone remote name without colon'),
  str('RCLONE_BANDWIDTH_LIMIT', '10M', 'storage', 'rclone --bwlimit on uploads'),
  str('RCLONE_FLAGS', DEFAULT_RCLONE_FLAGS, 'storage', 'extra flags on every rclone call'),
  int('CLOUD_CONNECTIVITY_TIMEOUT', 30, 1, undefined, 'storage', 'connectivity test timeout (s)'),
  enumKey('CLOUD_UPLOAD_MODE', ['parallel', 'sequential'], 'parallel', 'storage', 'upload files concurrently or one by one'),
  int('CLOUD_PARALLEL_MAX_JOBS', 3, 1, undefined, 'storage', NO_EFFECT),
  bool('CLOUD_PARALLEL_VERIFICATION', 'true', 'storage', 'verify uploads concurrently'),
  int('CLOUD_PARALLEL_UPLOAD_TIMEOUT', 600, 1, undefined, 'storage', 'limit of one cloud upload attempt (s)'),
  bool('SKIP_CLOUD_VERIFICATION', 'false', 'storage', 'skip post-upload verification'),
  // 5.10 Notifications
  secret('TELEGRAM_BOT_TOKEN', 'notify', 'personal-mode bot token'),
  str('TELEGRAM_CHAT_ID', '', 'notify', 'personal-mode chat id'),
  enumKey('BOT_TELEGRAM_TYPE', ['personal', 'centralized'], 'personal', 'notify', 'Telegram mode'),
  str('TELEGRAM_SERVER_API_HOST', '', 'notify', 'centralized-mode lookup host'),
  enumKey('EMAIL_DELIVERY_METHOD', ['sendmail', 'smtp', 'relay', 'ses'], 'sendmail', 'notify', 'e-mail delivery'),
  bool('EMAIL_FALLBACK_SENDMAIL', 'true', 'notify', 'try sendmail when SMTP fails'),
  str('EMAIL_RECIPIENT', '', 'notify', 'To (comma list)'),
  str('EMAIL_FROM', '', 'notify', 'From header'),
  str('EMAIL_SUBJECT_PREFIX', '[Proxmox-Backup]', 'notify', 'subject prefix'),
  // 5.11 Metrics, users, custom paths
  path('PROMETHEUS_TEXTFILE_DIR', '/var/lib/prometheus/node-exporter', 'metrics', 'dir of proxmox_backup.prom'),
  str('BACKUP_USER', 'backup', 'storage', 'owner for the permission step'),
  str('BACKUP_GROUP', 'backup', 'storage', 'group for the permission step'),
  { name: 'CUSTOM_BACKUP_PATHS', kind: 'list', defaultValue: DEFAULT_CUSTOM_PATHS, domain: 'backup',
    description: 'extra files or dirs to collect' },
  { name: 'BACKUP_BLACKLIST', kind: 'list', defaultValue: DEFAULT_BLACKLIST, domain: 'backup',
    description: 'exclusions' },
  { name: 'MAX_PXAR_SIZE', kind: 'size', defaultValue: '50M', domain: 'backup', description: '.pxar copy limit' },
  { name: 'PXAR_INCLUDE_PATTERN', kind: 'csv', defaultValue: 'vm/100,vm/101', domain: 'backup',
    description: '.pxar paths to copy' },
  { name: 'MAX_PVE_BACKUP_SIZE', kind: 'size', defaultValue: '100M', domain: 'backup',
    description: 'vzdump copy limit' },
  { name: 'PVE_BACKUP_INCLUDE_PATTERN', kind: 'csv', defaultValue: '', domain: 'backup',
    description: 'vzdump paths to copy' },
  // 5.12 Colours
  ...COLOURS.map(([name, value]) => str(name, value, 'orchestrator', NO_EFFECT)),
  // 6. Keys upstream code read
  bool('AUTO_INSTALL_DEPENDENCIES', 'false', 'orchestrator', NO_EFFECT),
  bool('SMTP_USE_TLS', 'true', 'notify', NO_EFFECT),
  int('VERIFICATION_TIMEOUT', 3600, 60, 7200, 'backup', 'checksum verification limit (s)'),
  int('EXTRACTION_TIMEOUT', 300, 30, 1800, 'backup', 'archive test/list/extract limit (s)'),
  int('SAMPLE_SIZE', 20, 1, 100, 'backup', NO_EFFECT),
  int('CONSISTENCY_TIMEOUT', 600, 1, undefined, 'storage', 'cross-tier comparison limit (s)'),
  int('CLOUD_LIST_TIMEOUT', 15, 1, undefined, 'storage', 'rclone listing limit (s)'),
  int('LOCAL_FIND_TIMEOUT', 10, 1, undefined, 'storage', 'local listing limit (s)'),
  int('LOG_BUFFER_SIZE', 50, 0, undefined, 'orchestrator', NO_EFFECT),
  // 7. New keys
  path('SYSTEM_ROOT_PREFIX', '/', 'backup', 'root under which host files are read'),
  enumKey('NOTIFY_ON', ['always', 'warning', 'error'], 'always', 'notify', 'minimum outcome that notifies'),
  bool('NOTIFY_DRY_RUN', 'false', 'notify', 'notify in dry-run'),
  str('TELEGRAM_API_BASE', 'https://api.telegram.org', 'notify', 'personal-mode API base'),
  path('SENDMAIL_PATH', '/usr/sbin/sendmail', 'notify', 'sendmail binary'),
  str('SMTP_HOST', '', 'notify', 'SMTP server'),
  int('SMTP_PORT', 587, 1, 65535, 'notify', 'SMTP port'),
  str('SMTP_USER', '', 'notify', 'SMTP login'),
  secret('SMTP_PASSWORD', 'notify', 'SMTP password'),
  enumKey('SMTP_TLS', ['starttls', 'tls', 'none'], 'starttls', 'notify', 'SMTP transport security'),
  bool('WEBHOOK_ENABLED', 'false', 'notify', 'webhook channel'),
  { name: 'WEBHOOK_URLS', kind: 'list', defaultValue: '', secret: true, domain: 'notify',
    description: 'webhook URLs, one per line' },
  enumKey('WEBHOOK_FORMAT', ['generic', 'discord', 'slack', 'ntfy', 'gotify'], 'generic', 'notify', 'payload shape'),
  secret('WEBHOOK_AUTH_HEADER', 'notify', 'header line sent with every webhook'),
  secret('HEALTHCHECK_URL', 'notify', 'healthchecks-style ping URL: /start at run begin, the URL on success, /fail on error'),
  int('RETENTION_DAILY', 0, 0, undefined, 'storage', 'GFS: days kept'),
  int('RETENTION_WEEKLY', 0, 0, undefined, 'storage', 'GFS: ISO weeks kept'),
  int('RETENTION_MONTHLY', 0, 0, undefined, 'storage', 'GFS: months kept'),
  int('RETENTION_YEARLY', 0, 0, undefined, 'storage', 'GFS: years kept'),
  bool('ENCRYPT_ARCHIVE', 'false', 'backup', 'age-encrypt the archive'),
  { name: 'AGE_RECIPIENTS', kind: 'list', defaultValue: '', domain: 'backup', description: 'age recipients' },
  { name: 'SECURITY_ALLOWED_PORTS', kind: 'list', defaultValue: '', domain: 'security',
    description: 'extra listening ports allowed' },
  path('AGE_RECIPIENT_FILE', '', 'backup', 'file with more age recipients'),
] as const satisfies readonly KeySpec[];

export const CONFIG_KEYS: readonly KeySpec[] = TABLE;

type KeyOfTable = (typeof TABLE)[number];
/** The name of a configuration key (a literal union: a typo is a compile error). */
export type ConfigKey = KeyOfTable['name'];
/** The kind of the key K in the table. */
export type KindOf<K extends ConfigKey> = Extract<KeyOfTable, { readonly name: K }>['kind'];
/** The TypeScript type of a value of kind T: bool → boolean, int/size → number, list/csv → readonly string[]. */
export type ValueOfKind<T extends KeyKind> =
  T extends 'bool' ? boolean : T extends 'int' | 'size' ? number : T extends 'list' | 'csv' ? readonly string[] : string;
/** The keys of kind bool. */
export type BoolKey = { [K in ConfigKey]: KindOf<K> extends 'bool' ? K : never }[ConfigKey];
/** The configuration, typed per key from the table (native/core/config-view.ts builds it). */
export type ConfigValues = { readonly [K in ConfigKey]: ValueOfKind<KindOf<K>> };

export const KEYS_BY_NAME: ReadonlyMap<string, KeySpec> = new Map(CONFIG_KEYS.map((k): [string, KeySpec] => [k.name, k]));

export function isSecretKey(spec: KeySpec): boolean {
  return spec.secret === true;
}

/** The `(expected …)` text of the spec's wrong-type message; the Bash side reads the same text from the TSV. */
export function expectedText(spec: KeySpec): string {
  switch (spec.kind) {
    case 'bool': return 'bool';
    case 'int':
      if (spec.max !== undefined) return `int ${spec.min ?? 0}..${spec.max}`;
      return spec.min !== undefined && spec.min > 0 ? `int >=${spec.min}` : 'int';
    case 'size': return 'size';
    case 'path': return 'absolute path';
    case 'list': return 'list';
    case 'csv': return 'csv';
    case 'enum': return `one of ${(spec.values ?? []).join('|')}`;
    case 'string': return 'string';
    case 'secret': return 'secret';
    case 'version': return 'dotted version';
    default: {
      const never: never = spec.kind;
      return never;
    }
  }
}
