// What the TypeScript orchestrator learns of the host (legacy/lib/orchestrator.sh orchestrator_start and
// orchestrator_mac): phase 0's PATH hygiene and time zone, the facts detection hands back (phase 5), and the MAC
// address the summary shows.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { esc } from '../core/esc.js';
import { execCommand } from '../core/exec.js';

const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Phase 0's PATH hygiene: relative entries dropped (with a warning each), system dirs appended if missing. */
export function cleanPath(path: string): { path: string; warnings: string[] } {
  const entries = path.split(':');
  if (entries.length > 0 && entries[entries.length - 1] === '') entries.pop();   // as bash splits a trailing ':'
  const kept: string[] = [];
  const warnings: string[] = [];
  for (const entry of path === '' ? [] : entries) {
    if (entry.startsWith('/')) kept.push(entry);
    else warnings.push(`Ignoring relative PATH entry '${esc(entry)}'`);
  }
  for (const dir of SYSTEM_DIRS) if (!kept.includes(dir)) kept.push(dir);
  return { path: kept.join(':'), warnings };
}

/** Phase 0's time zone: TZ, else systemd's, else /etc/timezone's first line, else UTC. */
export async function resolveTimezone(env: Readonly<Record<string, string | undefined>>): Promise<string> {
  if (env.TZ !== undefined && env.TZ !== '') return env.TZ;
  const result = await execCommand(['timedatectl', 'show', '-p', 'Timezone', '--value'], { timeoutMs: 5000, env: { ...env } });
  const fromSystemd = result.exitCode === 0 ? result.stdout.replace(/\n+$/, '') : '';
  if (fromSystemd !== '') return fromSystemd;
  try {
    return readFileSync('/etc/timezone', 'utf8').split('\n')[0] || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** The run facts backup_detect writes to state.env (run.md §8), in RUN_FACTS order. */
export const DETECTED_KEYS = ['HOSTNAME', 'HOST_SHORT', 'PROXMOX_TYPE', 'PVE_VERSION', 'PBS_VERSION', 'SERVER_ID'] as const;
export type DetectedFacts = Readonly<Record<(typeof DETECTED_KEYS)[number], string>>;

/** Before detection ran: every detected fact empty (context.env's first writing). */
export const UNDETECTED: DetectedFacts = factsFrom(new Map());

/** What detection handed back through state.env (either implementation of the stage): '' for a fact it left out. */
export function factsFrom(state: ReadonlyMap<string, string>): DetectedFacts {
  return Object.fromEntries(DETECTED_KEYS.map((key) => [key, state.get(key) ?? ''])) as DetectedFacts;
}

/** orchestrator_mac: the first interface's address other than lo and all-zero, by name; `unknown` without one. */
export function firstMac(): string {
  let names: string[] = [];
  try {
    names = readdirSync('/sys/class/net').sort();
  } catch {
    return 'unknown';
  }
  for (const name of names) {
    if (name === 'lo') continue;
    try {
      const mac = readFileSync(join('/sys/class/net', name, 'address'), 'utf8').replace(/\n+$/, '');
      if (mac !== '' && !/^(00:)+00$/.test(mac)) return mac;
    } catch {
      continue;
    }
  }
  return 'unknown';
}
