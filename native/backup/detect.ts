// backup_detect (collect.md §2, run.md §8): names, host type and versions, and the server id, into state.env —
// the same probes, in the same order, with the same lines as legacy/lib/detect.sh.
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execHost } from '../core/host-record.js';
import type { ExitStatus } from '../core/exit-code.js';
import { deriveServerId, formatIdentityFile, readIdentitySources, readIdentityState } from '../core/identity.js';
import type { RunLog } from '../core/log.js';
import { hasProgram, isDirectory, isExecutableFile } from '../core/programs.js';
import type { NativeStageContext } from '../core/stage.js';

type Env = Readonly<Record<string, string | undefined>>;

/** detect_run: 10 s, no stdin, LC_ALL=C; stdout without trailing newlines, or undefined when it failed. */
async function probe(argv: string[], env: Env): Promise<string | undefined> {
  const result = await execHost(argv, { timeoutMs: 10_000, env: { ...env, LC_ALL: 'C' } });
  return result.exitCode === 0 ? result.stdout.replace(/\n+$/, '') : undefined;
}

export async function detectNames(env: Env): Promise<{ hostname: string; short: string }> {
  let short = '';
  let fqdn = '';
  const plain = await probe(['hostname'], env);
  if (plain !== undefined && plain !== '') short = plain.split('.')[0] ?? '';
  const full = await probe(['hostname', '-f'], env);
  if (full !== undefined && full !== '') fqdn = full;
  const hostname = fqdn || short || 'localhost';
  return { hostname, short: short || hostname.split('.')[0] || hostname };
}

const olderThan = (version: string, major: number): boolean => {
  const first = version.split('.')[0] ?? '';
  return /^\d+$/.test(first) && Number(first) < major;
};

async function pveVersion(prefix: string, env: Env, log: RunLog): Promise<string> {
  let version = 'unknown';
  if (hasProgram('pveversion', env.PATH ?? '')) {
    const out = await probe(['pveversion'], env);
    const match = out === undefined ? null : /pve-manager\/([0-9]+\.[0-9]+(\.[0-9]+)?(-[0-9]+)?)/.exec(out.split('\n')[0] ?? '');
    if (match?.[1] !== undefined) version = match[1];
  }
  if (version === 'unknown') {
    try {
      const text = readFileSync(join(prefix, 'etc/pve/.version'), 'utf8').replace(/\n+$/, '');
      const match = /([0-9]+\.[0-9]+(\.[0-9]+)?(-[0-9]+)?)/.exec(text);
      if (match?.[1] !== undefined) version = match[1];
    } catch {
      // no .version: unknown
    }
  }
  if (version !== 'unknown' && olderThan(version, 6)) log.warning(`Running on an older version of PVE (${version})`);
  return version;
}

async function pbsVersion(env: Env, log: RunLog): Promise<string> {
  let version = 'unknown';
  if (hasProgram('proxmox-backup-manager', env.PATH ?? '')) {
    const out = await probe(['proxmox-backup-manager', 'version'], env);
    const match = out === undefined ? null : /version:\s*(\S+)/.exec(out);
    if (match?.[1] !== undefined) version = match[1];
  }
  if (version !== 'unknown' && olderThan(version, 2)) log.warning(`Running on an older version of PBS (${version})`);
  return version;
}

export interface HostType { type: 'pve' | 'pbs' | 'dual' | 'unknown'; pveVersion: string; pbsVersion: string }

export async function detectHostType(prefix: string, env: Env, log: RunLog): Promise<HostType> {
  const path = env.PATH ?? '';
  const hasPve = hasProgram('pveversion', path) || isExecutableFile(join(prefix, 'usr/bin/pveversion'))
    || (isDirectory(join(prefix, 'etc/pve')) && isDirectory(join(prefix, 'var/lib/pve-cluster')));
  const hasPbs = hasProgram('proxmox-backup-manager', path) || isExecutableFile(join(prefix, 'usr/sbin/proxmox-backup-manager'))
    || isExecutableFile(join(prefix, 'usr/bin/proxmox-backup-manager')) || isDirectory(join(prefix, 'etc/proxmox-backup'));
  const type = hasPve && hasPbs ? 'dual' : hasPve ? 'pve' : hasPbs ? 'pbs' : 'unknown';
  const parts: string[] = [];
  let pve = '';
  let pbs = '';
  if (hasPve) {
    pve = await pveVersion(prefix, env, log);
    parts.push(`PVE ${pve}`);
  }
  if (hasPbs) {
    pbs = await pbsVersion(env, log);
    parts.push(`PBS ${pbs}`);
  }
  if (type === 'unknown') {
    log.warning('No Proxmox installation detected; collecting system information only');
    log.info('Detected: unknown');
  } else {
    log.info(`Detected: ${type} (${parts.join(', ')})`);
  }
  return { type, pveVersion: pve, pbsVersion: pbs };
}

/** identity_load: the id of BASE_DIR/config/.server_identity, or a derived one written there. */
export function loadIdentity(baseDir: string, short: string, log: RunLog): string {
  // Spelled as legacy spells it ("$1/config/.server_identity"): the tool prints and logs BASE_DIR as given.
  const dir = `${baseDir}/config`;
  const file = `${dir}/.server_identity`;
  const state = readIdentityState(file);
  if (state.state === 'valid') return state.id;
  const wasMissing = state.state === 'missing';
  // An unreadable file is corrupt, not missing (legacy `-e` then `-r`): it used to read as missing here.
  if (!wasMissing) log.warning('Server identity file corrupt; regenerated');
  const id = deriveServerId(readIdentitySources(short));
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    writeFileSync(`${file}.tmp`, formatIdentityFile(id), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
    if (wasMissing) log.info('Server ID generated');
  } catch {
    rmSync(`${file}.tmp`, { force: true });
    log.warning(`Cannot write server identity file ${file}; using the computed id for this run`);
  }
  return id;
}

export async function backupDetect({ log, env, config, facts, state }: NativeStageContext): Promise<ExitStatus> {
  const names = await detectNames(env);
  const host = await detectHostType(config.SYSTEM_ROOT_PREFIX, env, log);
  const serverId = loadIdentity(facts.BASE_DIR, names.short, log);
  const values: [string, string][] = [['HOSTNAME', names.hostname], ['HOST_SHORT', names.short], ['PROXMOX_TYPE', host.type],
    ['PVE_VERSION', host.pveVersion], ['PBS_VERSION', host.pbsVersion], ['SERVER_ID', serverId]];
  for (const [key, value] of values) state.set(key, value);
  return 0;
}
