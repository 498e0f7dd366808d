// Leftovers of a crashed run (run.md §7, decision 24): a kill -9 cannot clean up, so the next lock holder removes
// what this installation's dead runs left — run directories under TMPDIR (they can hold plaintext copies of
// /etc/pve/priv) and this host's `<archive>.tmp` / `<sidecar>.tmp` in the local and secondary tiers. Only what
// carries the marker: a run directory whose owner file names this BASE_DIR and a process that is gone; a tier
// file named after this host. Legacy's twin: orchestrator_leftover_* in legacy/lib/orchestrator.sh.
import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { processStart } from './lock.js';

export interface LeftoverLog {
  info(message: string): void;
  warning(message: string): void;
}

export interface LeftoverOptions {
  readonly dryRun: boolean;
  readonly log: LeftoverLog;
  readonly escape: (text: string) => string;
}

/** The owner file of a run directory: BASE_DIR of the installation and the process that made it. */
export function ownerText(baseDir: string, pid: number): string {
  return `base_dir=${baseDir}\npid=${pid}\nstart=${processStart(pid)}\n`;
}

function remove(path: string, options: LeftoverOptions): void {
  const shown = options.escape(path);
  if (options.dryRun) {
    options.log.info(`Would remove leftover of an interrupted run: ${shown}`);
    return;
  }
  try {
    rmSync(path, { recursive: true, force: true });
    options.log.info(`Removed leftover of an interrupted run: ${shown}`);
  } catch {
    options.log.warning(`Cannot remove leftover of an interrupted run: ${shown}`);
  }
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** DIR is a run directory of the installation at BASEDIR whose process is gone. */
export function isDeadRunDir(dir: string, baseDir: string): boolean {
  try {
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || stat.uid !== process.getuid?.()) return false;
    const owner = join(dir, 'owner');
    if (!lstatSync(owner).isFile()) return false;
    const fields = new Map<string, string>();
    for (const line of readFileSync(owner, 'utf8').split('\n')) {
      const at = line.indexOf('=');
      if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1));
    }
    const pid = fields.get('pid') ?? '';
    if (fields.get('base_dir') !== baseDir || !/^[0-9]+$/.test(pid)) return false;
    const current = processStart(pid);
    if (current === '') return true;
    const start = fields.get('start') ?? '';
    return start !== '' && current !== start;
  } catch {
    return false;
  }
}

/** Run and shadow directories of this installation's dead runs under TMPDIR (never CURRENT). */
export function removeLeftoverRuns(tmpDir: string, baseDir: string, current: string | undefined, options: LeftoverOptions): void {
  for (const name of entries(tmpDir).sort()) {
    if (!name.startsWith('proxmox-backup-run.') && !name.startsWith('proxmox-backup-shadow.')) continue;
    const dir = join(tmpDir, name);
    if (dir !== current && isDeadRunDir(dir, baseDir)) remove(dir, options);
  }
}

const TIER_NAME = /^(pve|pbs|dual|unknown)-backup-/;

/** This host's `<archive>.tmp`, `<sidecar>.tmp` and `<log>.tmp` files in these tier directories (each once). */
export function removeLeftoverTierFiles(dirs: readonly string[], hostname: string, options: LeftoverOptions): void {
  const marker = `-backup-${hostname}-`;
  for (const dir of new Set(dirs)) {
    if (dir === '') continue;
    for (const name of entries(dir).sort()) {
      if (!name.endsWith('.tmp') || !TIER_NAME.test(name) || !name.includes(marker)) continue;
      const path = join(dir, name);
      try {
        if (!lstatSync(path).isFile()) continue;
      } catch {
        continue;
      }
      remove(path, options);
    }
  }
}
