// Parity scenarios (ARCHITECTURE "Parity harness", parity/README.md): each is a way one real node's run can go,
// expressed as configuration, command line, PATH and host changes applied in a fresh sandbox.

export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Extra backup.env lines (over the sandbox defaults). */
  readonly config?: Readonly<Record<string, string>>;
  readonly args?: readonly string[];
  /** Commands replaced, first on PATH, by a stub that prints to stderr and exits 3. */
  readonly failingCommands?: readonly string[];
  /** Compressors wrapped first on PATH so that decompressing fails (exit 1) while compressing works. */
  readonly brokenDecompressors?: readonly string[];
  /** Files (relative to the host's root/) removed from a copy of the host. */
  readonly removeFiles?: readonly string[];
  /** Older backups of this host seeded in the local tier before the run (retention). */
  readonly seedBackups?: number;
  /** The secondary tier (a sandbox dir) and the cloud tier (an rclone remote): `up` a local-type remote,
   * `down` a WebDAV remote on a closed loopback port. */
  readonly tiers?: 'up' | 'down';
  /** The notification sinks: `up` (a Bot API server answering ok, a sendmail that accepts; the default) or
   * `down` (a closed port, a sendmail exiting 75). */
  readonly notify?: 'up' | 'down';
  /** Archives encrypted to the test recipient of parity/age-test.key (the normaliser decrypts with it). */
  readonly encrypt?: boolean;
  /** Hosts this scenario applies to (default: every host). */
  readonly hosts?: readonly string[];
  /** In `make test-parity` (the default set); the nightly `--matrix` runs every scenario. */
  readonly inDefault: boolean;
}

const COMPRESSIONS = ['gzip', 'pigz', 'bzip2', 'xz', 'lzma', 'zstd', 'none'] as const;

const COPYABLE_HOSTS = ['pve-single', 'pve-cluster', 'pbs', 'dual'];

export const SCENARIOS: readonly Scenario[] = [
  { name: 'happy', description: 'defaults (zstd), every switch on', inDefault: true },
  { name: 'dry-run', description: '--dry-run: collection only, nothing written but the log', args: ['--dry-run'], inDefault: true },
  { name: 'check-only', description: '--check-only: phases 0-8', args: ['--check-only'], inDefault: true, hosts: ['pve-single', 'pbs'] },
  {
    name: 'command-failing', description: 'uname fails (exit 3, stderr): a WARNING, the run goes on',
    failingCommands: ['uname'], inDefault: true,
  },
  {
    name: 'missing-optional', description: 'etc/resolv.conf absent on the host', removeFiles: ['etc/resolv.conf'],
    hosts: COPYABLE_HOSTS, inDefault: true,
  },
  {
    name: 'retention-overflow', description: 'three older backups in the local tier, MAX_LOCAL_BACKUPS=2',
    config: { MAX_LOCAL_BACKUPS: '2' }, seedBackups: 3, inDefault: true,
  },
  {
    name: 'three-tiers', description: 'secondary and cloud on, three older sets seeded in every tier, MAX_*=2',
    tiers: 'up', seedBackups: 3, config: { MAX_LOCAL_BACKUPS: '2', MAX_SECONDARY_BACKUPS: '2', MAX_CLOUD_BACKUPS: '2' },
    hosts: ['pve-single', 'pbs'], inDefault: true,
  },
  {
    name: 'cloud-down', description: 'the cloud remote refuses connections: WARNING, cloud off, the rest complete',
    tiers: 'down', hosts: ['pve-single'], inDefault: true,
  },
  {
    name: 'secondary-readonly', description: 'the secondary path cannot be written: WARNING, cloud still uploaded',
    tiers: 'up', config: { SECONDARY_BACKUP_PATH: '/proc/pbk-parity/backup', SECONDARY_LOG_PATH: '/proc/pbk-parity/log' },
    hosts: ['pve-single'], inDefault: true,
  },
  {
    name: 'encryption-on', description: 'ENCRYPT_ARCHIVE=true to the test age recipient; content verification skipped',
    encrypt: true, hosts: ['pve-single', 'dual'], inDefault: true,
  },
  {
    name: 'verify-fails', description: 'zstd cannot decompress: verification ERROR, no copy, no rotation, exit 2',
    brokenDecompressors: ['zstd'], config: { MAX_LOCAL_BACKUPS: '1' }, seedBackups: 1, hosts: ['pve-single', 'pbs'], inDefault: true,
  },
  {
    name: 'notify-down', description: 'the Telegram API refuses connections and sendmail exits 75: WARNINGs, exit 1',
    notify: 'down', hosts: ['pve-single'], inDefault: true,
  },
  // compression-zstd is happy's inputs exactly (SANDBOX_CONFIG's compressor; the goldens are identical): the default
  // set runs happy only, --matrix and --scenario compression-zstd still run it.
  ...COMPRESSIONS.map((type): Scenario => ({
    name: `compression-${type}`, description: `COMPRESSION_TYPE=${type}`, config: { COMPRESSION_TYPE: type },
    hosts: ['pve-single'], inDefault: type !== 'zstd',
  })),
];

export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
