// Drives the real legacy pipeline against a fixture host, in a throwaway BASE_DIR (tests only).
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { writeIntegrityManifest } from '../../native/parity/integrity.js';

export const REPO = join(import.meta.dirname, '..', '..');
export const HOSTS_DIR = join(REPO, 'parity', 'hosts');
export const PBK_NOW = '1732500000';   // 2024-11-25 02:00:00 UTC

export interface Sandbox {
  readonly baseDir: string;
  readonly backupDir: string;
  readonly logDir: string;
  readonly configPath: string;
}

export function makeSandbox(config: Record<string, string> = {}): Sandbox {
  const baseDir = mkdtempSync(join(tmpdir(), 'pbk-legacy-'));
  mkdirSync(join(baseDir, 'env'));
  mkdirSync(join(baseDir, 'tmp'));
  const lines = {
    LOCAL_BACKUP_PATH: '${BASE_DIR}/backup', LOCAL_LOG_PATH: '${BASE_DIR}/log', PROMETHEUS_ENABLED: 'false',
    COMPRESSION_TYPE: 'zstd', COMPRESSION_MODE: 'standard', COMPRESSION_LEVEL: '3', ...config,
  };
  const configPath = join(baseDir, 'env', 'backup.env');
  writeFileSync(configPath, Object.entries(lines).map(([k, v]) => `${k}="${v}"\n`).join(''));
  chmodSync(configPath, 0o600);
  writeIntegrityManifest(baseDir);   // as the install step records it (RUNBOOK): the gate verifies it
  return { baseDir, backupDir: join(baseDir, 'backup'), logDir: join(baseDir, 'log'), configPath };
}

/** The sandbox's backup.env with more keys appended (same BASE_DIR, later lines win). */
export function appendConfig(sandbox: Sandbox, extra: Record<string, string>): Sandbox {
  const text = readFileSync(sandbox.configPath, 'utf8') + Object.entries(extra).map(([k, v]) => `${k}="${v}"\n`).join('');
  writeFileSync(sandbox.configPath, text);
  writeIntegrityManifest(sandbox.baseDir);   // an operator's edit followed by security-check --update-hashes
  return sandbox;
}

export function hostEnv(host: string, sandbox: Sandbox, extra: Record<string, string> = {}): Record<string, string> {
  const hostDir = host.startsWith('/') ? host : join(HOSTS_DIR, host);
  return {
    PATH: `${join(hostDir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    SYSTEM_ROOT_PREFIX: join(hostDir, 'root'), BASE_DIR: sandbox.baseDir, PBK_NOW, TZ: 'UTC', LC_ALL: 'C.UTF-8',
    PBK_COMMAND_TIMEOUT: '3', TMPDIR: join(sandbox.baseDir, 'tmp'), ...extra,
  };
}

/** The running pipeline: await it for the result, or kill() it first. */
export function runLegacy(host: string, sandbox: Sandbox, args: string[] = [],
  extra: Record<string, string> = {}): ResultPromise {
  return execa(join(REPO, 'legacy', 'bin', 'proxmox-backup'), args, {
    env: hostEnv(host, sandbox, extra), extendEnv: false, reject: false, timeout: 240_000,
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * MAKE's answer (JSON), made once per vitest run for every file that asks with the same KEY: the first makes it
 * under a lock (mkdir in PBK_TEST_SUITE_DIR, tests/global-setup.ts), the others wait for its answer file. A
 * failure removes the lock, so the next file to ask tries again (and reports its own failure). Outside a vitest
 * run (no suite dir): MAKE each time.
 */
export async function sharedOnce<T>(key: string, make: () => Promise<T>): Promise<T> {
  const suiteDir = process.env.PBK_TEST_SUITE_DIR;
  if (suiteDir === undefined || suiteDir === '') return make();
  const id = createHash('sha256').update(key).digest('hex').slice(0, 16);
  const lock = join(suiteDir, `shared-${id}.lock`);
  const answer = join(suiteDir, `shared-${id}.json`);
  for (const deadline = Date.now() + 300_000; Date.now() < deadline;) {
    if (existsSync(answer)) return JSON.parse(readFileSync(answer, 'utf8')) as T;
    try {
      mkdirSync(lock);
    } catch {
      await sleep(250);   // another file is making it (or has just made it)
      continue;
    }
    try {
      const made = await make();
      writeFileSync(`${answer}.part`, JSON.stringify(made));
      renameSync(`${answer}.part`, answer);
      return made;
    } catch (error) {
      rmSync(lock, { recursive: true, force: true });
      throw error;
    }
  }
  throw new Error(`no shared answer for ${key} after 300 s (${lock})`);
}

/**
 * A fresh sandbox with CONFIG holding what a whole legacy run on HOST with CONFIG leaves in it (backup/, log/,
 * config/: the set, the run's log, the server identity and manifest), and that run's exit code. The run is made
 * once per vitest run (sharedOnce) in a sandbox of its own that nobody writes to, and copied (cp -a: modes, owners,
 * times) into each caller's sandbox, which the caller may change at will. The files hold no path of the sandbox
 * but the run's log text (Backup File: ...), which no caller reads.
 */
export async function legacyRunCopy(host: string, config: Record<string, string>): Promise<{ sandbox: Sandbox; exitCode: number | undefined }> {
  const made = await sharedOnce(`legacy run ${host} ${JSON.stringify(Object.entries(config).sort())}`, async () => {
    const source = makeSandbox(config);
    const result = await runLegacy(host, source);
    return { baseDir: source.baseDir, exitCode: result.exitCode };
  });
  const sandbox = makeSandbox(config);
  for (const dir of ['backup', 'log', 'config']) {
    if (!existsSync(join(made.baseDir, dir))) continue;
    rmSync(join(sandbox.baseDir, dir), { recursive: true, force: true });
    await execa('cp', ['-a', join(made.baseDir, dir), join(sandbox.baseDir, dir)]);
  }
  return { sandbox, exitCode: made.exitCode };
}

export function archiveIn(sandbox: Sandbox): string | undefined {
  let names: string[] = [];
  try {
    names = readdirSync(sandbox.backupDir);
  } catch {
    return undefined;
  }
  const archive = names.find((n) => /\.tar(\.[a-z0-9]+)?(\.age)?$/.test(n));
  return archive === undefined ? undefined : join(sandbox.backupDir, archive);
}

export function logOf(sandbox: Sandbox): string {
  const files = readdirSync(sandbox.logDir).filter((n) => n.endsWith('.log'));
  return files.map((f) => readFileSync(join(sandbox.logDir, f), 'utf8')).join('');
}

/** GNU tar's listing of an archive (the real component, as a user would run it). */
export async function tarList(archive: string): Promise<string[]> {
  const result = await execa('tar', ['--quoting-style=escape', '-tf', archive], { reject: false, env: { LC_ALL: 'C', PATH: process.env.PATH } });
  if (result.exitCode !== 0) throw new Error(`tar -tf failed: ${result.stderr}`);
  return result.stdout.split('\n').filter((l) => l !== '');
}

/** The fixture hosts every full-run test goes through. */
export const HOSTS = ['pve-single', 'pve-cluster', 'pbs', 'dual', 'hostile'] as const;

// What each host legitimately warns about: pbs and dual configure a datastore whose disk is gone.
export const GONE = 'Failed to collect datastore base directory - /mnt/datastore/removed - directory not found for datastore: removed';
export const EXPECTED_WARNINGS: Record<(typeof HOSTS)[number], string[]> = {
  'pve-single': [], 'pve-cluster': [], pbs: [GONE], dual: [GONE],
  hostile: [
    'Suspicious process: xmrig-notls (PID 3004, UID 1000)',   // the gate (security.md §5.2) sees the host's ps
    'Security checks found 1 issue(s); continuing (ABORT_ON_SECURITY_ISSUES=false)',
    'Failed to collect PVE users - command: pveum user list --output-format=json - ipcc_send_rec[1] failed: Connection refused',
    ...(process.getuid?.() === 0 ? [] : ['Failed to collect PVE configuration - /etc/pve/priv/unreadable.key']),
  ],
};
export const EXPECTED_EXIT: Record<(typeof HOSTS)[number], number> = { 'pve-single': 0, 'pve-cluster': 0, pbs: 1, dual: 1, hostile: 1 };

/** The compressor of each host's whole run in tests/legacy/acceptance.test.ts; pipeline.test.ts adds the others. */
export const HOST_COMPRESSION = {
  'pve-single': { type: 'xz', ext: '.tar.xz', mode: 'ultra' }, 'pve-cluster': { type: 'zstd', ext: '.tar.zst', mode: 'ultra' },
  pbs: { type: 'gzip', ext: '.tar.gz', mode: 'standard' }, dual: { type: 'pigz', ext: '.tar.gz', mode: 'fast' },
  hostile: { type: 'bzip2', ext: '.tar.bz2', mode: 'maximum' },
} as const satisfies Record<(typeof HOSTS)[number], { type: string; ext: string; mode: string }>;

export async function checksumOk(archive: string): Promise<boolean> {
  const result = await execa('sha256sum', ['-c', `${basename(archive)}.sha256`], { cwd: dirname(archive), reject: false });
  return result.exitCode === 0 && result.stdout.trim() === `${basename(archive)}: OK`;
}

/** What a run's archive must be (archive.md): HOST's name with EXT, mode 0600, accepted by sha256sum -c, listed by
 * GNU tar with the metadata file, its .metadata naming TYPE; the directory holds its set and OTHERS, nothing else.
 * Returns the failures (empty: all hold). */
export async function archiveProblems(sandbox: Sandbox, host: string, type: string, ext: string, others: readonly string[] = []): Promise<string[]> {
  const json = JSON.parse(readFileSync(join(HOSTS_DIR, host, 'host.json'), 'utf8')) as { type: string; fqdn: string };
  const name = `${json.type}-backup-${json.fqdn}-2024-11-25_02-00-00${ext}`;
  const listing = existsSync(sandbox.backupDir) ? readdirSync(sandbox.backupDir).sort() : [];
  const expected = [name, `${name}.metadata`, `${name}.sha256`, ...others].sort();
  if (JSON.stringify(listing) !== JSON.stringify(expected)) return [`directory ${listing.join(' ')}`];   // the name too
  const archive = join(sandbox.backupDir, name);
  const problems: string[] = [];
  if ((statSync(archive).mode & 0o777) !== 0o600) problems.push(`mode ${(statSync(archive).mode & 0o777).toString(8)}`);
  if (!await checksumOk(archive)) problems.push('sha256sum -c');
  const entries = await tarList(archive);
  if (entries[0] !== './') problems.push(`first entry ${entries[0] ?? 'none'}`);
  if (!entries.includes('./var/lib/proxmox-backup-info/backup_metadata.txt')) problems.push('no backup_metadata.txt');
  const metadata = readFileSync(`${archive}.metadata`, 'utf8');
  if (!new RegExp(`^COMPRESSION_RATIO=-?\\d+\\.\\d\\d%\\nCOMPRESSION_TYPE=${type}\\n`).test(metadata)) problems.push(`metadata ${metadata}`);
  return problems;
}

export function warningsOf(log: string): string[] {
  return log.split('\n').filter((l) => l.includes(' [WARNING] ') && !l.includes('Backup process completed'))
    .map((l) => l.replace(/^.* \[WARNING\] /, ''));
}
