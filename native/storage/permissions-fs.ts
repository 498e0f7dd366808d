// The edge of the permission planner (security.md §7; storage.md §8): lists entries as lstat sees them, in the
// order `find` visits them (readdir order, a directory before its content), never following a symlink; then
// applies a plan with lchown and chmod, logging F1 / F2 / F5 as legacy storage_set_mode does. Shared by
// fix-permissions and the run's permission step.
import { chmodSync, lchownSync, lstatSync, opendirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { esc } from '../core/esc.js';
import {
  modeMessage, ownerMessage, planBackupDir, planInstallation, strerror, R1_NAMED, R1_ROOTS, UNSUPPORTED_CODES,
  type EntryKind, type FsEntry, type FsPath, type InstallEntry, type Owner, type PlannedChange,
} from './permissions.js';

const B = (text: string): Buffer => Buffer.from(text, 'utf8');
const SLASH = B('/');
const NODE_MODULES = B('node_modules');

function kindOf(stats: Stats): EntryKind {
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isDirectory()) return 'dir';
  return stats.isFile() ? 'file' : 'other';
}

function lstatEntry(path: Buffer): FsEntry | undefined {
  try {
    const stats = lstatSync(path);
    return { path, kind: kindOf(stats), mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid };
  } catch {
    return undefined;
  }
}

/** The names in a directory in readdir order (what `find` sees), not sorted; none when it cannot be read. */
function namesOf(dir: Buffer): Buffer[] {
  const names: Buffer[] = [];
  try {
    const handle = opendirSync(dir, { encoding: 'buffer' as BufferEncoding });
    try {
      for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) names.push(entry.name as unknown as Buffer);
    } finally {
      handle.closeSync();
    }
  } catch {
    return names;
  }
  return names;
}

/**
 * R1's entries: BASE_DIR, the named entries, every entry of the covered roots (a name `node_modules` pruned, as
 * `find -name node_modules -prune`), then everything under BASE_DIR/node_modules. A root or node_modules that is
 * a symlink is not entered.
 */
export function scanInstallation(baseDir: string): InstallEntry[] {
  const base = B(baseDir);
  const found: InstallEntry[] = [];
  const add = (path: Buffer, rel: Buffer): FsEntry | undefined => {
    const entry = lstatEntry(path);
    if (entry !== undefined) found.push({ ...entry, rel: rel.toString('latin1') });
    return entry;
  };
  const walk = (path: Buffer, rel: Buffer, prune: boolean): void => {
    if (add(path, rel)?.kind !== 'dir') return;
    for (const name of namesOf(path)) {
      if (prune && name.equals(NODE_MODULES)) continue;
      walk(Buffer.concat([path, SLASH, name]), Buffer.concat([rel, SLASH, name]), prune);
    }
  };
  add(base, Buffer.alloc(0));
  for (const rel of R1_NAMED) add(Buffer.concat([base, SLASH, B(rel)]), B(rel));
  for (const root of [...R1_ROOTS, 'node_modules']) {
    const path = Buffer.concat([base, SLASH, B(root)]);
    if (lstatEntry(path)?.kind === 'dir') walk(path, B(root), root !== 'node_modules');
  }
  return found;
}

export interface PermissionLog {
  info(message: string): void;
  warning(message: string): void;
}

/** Applies plans and counts: `changes` made (or that a dry run would make), `problems` (F2 and F7 warnings). */
export class PermissionFixer {
  changes = 0;
  problems = 0;

  constructor(private readonly log: PermissionLog, private readonly dryRun: boolean) {}

  /**
   * One change, owner first (lchown: never through a link), then the mode. A failure is F2, or with `dir` (R2)
   * and an error saying the filesystem takes no owners or modes, F5: false, and the caller leaves `dir`.
   */
  apply(change: PlannedChange, dir?: FsPath): boolean {
    const steps: [string | undefined, string, () => void][] = [
      [ownerMessage(change, this.dryRun), 'owner', () => lchownSync(change.path, change.owner?.to.uid ?? -1, change.owner?.to.gid ?? -1)],
      [modeMessage(change, this.dryRun), 'mode', () => chmodSync(change.path, change.mode?.to ?? 0)],
    ];
    for (const [message, what, run] of steps) {
      if (message === undefined) continue;
      if (!this.dryRun) {
        try {
          run();
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (dir !== undefined && code !== undefined && UNSUPPORTED_CODES.has(code)) {
            this.log.info(`Ownership not supported on ${esc(dir)}; left unchanged`);
            return false;
          }
          this.log.warning(`Cannot change ${what} of ${esc(change.path)}: ${strerror(code)}`);
          this.problems += 1;
          continue;
        }
      }
      this.log.info(message);
      this.changes += 1;
    }
    return true;
  }

  /** R1 (security.md §7.2): owner 0:0 when `rootOwner`. */
  installation(baseDir: string, rootOwner: boolean): void {
    for (const change of planInstallation(scanInstallation(baseDir), rootOwner)) this.apply(change);
  }

  /**
   * R2 (security.md §7.3) on one configured directory: absent → F6; a symlink → left alone; protected → F4 and
   * only its host files; F5 ends it. Paths are shown as configured (`<dir>/<name>`). With `filesOnly` the directory
   * itself is left as it is (the run's log copy made after the permission step, storage_permissions_in).
   */
  backupDir(dir: string, fqdn: string, types: readonly string[], owner: Owner | null, filesOnly = false): void {
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) {
      this.log.info(`Directory not found: ${esc(dir)}`);
      return;
    }
    const self = lstatEntry(B(dir));
    if (self === undefined || self.kind === 'symlink') return;
    const children: FsEntry[] = [];
    for (const name of namesOf(B(dir))) {
      const child = lstatEntry(Buffer.concat([B(dir), SLASH, name]));
      if (child !== undefined) children.push(child);
    }
    const plan = planBackupDir({ dir: self, realPath: realpathSync(dir), children }, fqdn, types, owner);
    if (plan.protected && !filesOnly) this.log.info(`Protected system directory left unchanged: ${esc(dir)}`);
    for (const change of plan.changes) {
      if (filesOnly && change.path === self.path) continue;
      if (!this.apply(change, dir)) return;
    }
  }
}

/** A directory, not a symlink to one (`[[ -d DIR && ! -L DIR ]]`). */
export function isRealDirectory(path: string): boolean {
  return lstatEntry(B(path))?.kind === 'dir';
}

/** Field 3 of `getent DATABASE KEY`, or undefined when the name does not resolve (as legacy asks: NSS included). */
export async function getentId(database: 'passwd' | 'group', key: string,
  run: (argv: readonly string[]) => Promise<{ readonly exitCode: number | null | undefined; readonly stdout: string }>): Promise<number | undefined> {
  const result = await run(['getent', database, key]);
  const id = result.exitCode === 0 ? result.stdout.split('\n')[0]?.split(':')[2] : undefined;
  return id !== undefined && /^\d+$/.test(id) ? Number(id) : undefined;
}
