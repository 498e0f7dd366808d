// The permission planner (security.md §7.2 R1, §7.3 R2; storage.md §8), shared by fix-permissions and the run's
// permission step: from entries as lstat saw them to the owner and mode changes to make. Pure: the edge lists
// the entries (never following a symlink), asks the planner, then applies with lchown/chmod and logs.
import { esc } from '../core/esc.js';

export type EntryKind = 'file' | 'dir' | 'symlink' | 'other';

/** A path as text, or as the bytes the filesystem gave (names need not be UTF-8; esc() shows them as they are). */
export type FsPath = string | Buffer;

/** One entry as lstat saw it. `mode` holds the permission bits with setuid/setgid/sticky (`mode & 0o7777`). */
export interface FsEntry {
  readonly path: FsPath;
  readonly kind: EntryKind;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

export interface PlannedChange {
  readonly path: FsPath;
  readonly owner?: { readonly from: Owner; readonly to: Owner };
  readonly mode?: { readonly from: number; readonly to: number };
}

/**
 * The change that brings one entry to `mode` and (when not null) `owner`; null when nothing differs. Only
 * regular files and directories are ever changed: a symlink (or a device, a socket) is left alone.
 */
export function planEntry(entry: FsEntry, mode: number, owner: Owner | null): PlannedChange | null {
  if (entry.kind !== 'file' && entry.kind !== 'dir') return null;
  const current = entry.mode & 0o7777;
  const ownerDiffers = owner !== null && (owner.uid !== entry.uid || owner.gid !== entry.gid);
  const modeDiffers = current !== mode;
  if (!ownerDiffers && !modeDiffers) return null;
  return {
    path: entry.path,
    ...(ownerDiffers ? { owner: { from: { uid: entry.uid, gid: entry.gid }, to: owner } } : {}),
    ...(modeDiffers ? { mode: { from: current, to: mode } } : {}),
  };
}

// ---- R1: the installation ----

/** R1's named entries under BASE_DIR, in the order they are handled (security.md §7.2). */
export const R1_NAMED = ['env', 'config', 'lock', 'env/backup.env', 'config/.server_identity', 'config/integrity.sha256',
  'lock/proxmox-backup.lock', 'VERSION', 'flags.json', 'flags.json.prev', 'package.json', 'package-lock.json'] as const;
/** The roots R1 covers recursively (`node_modules` inside them excluded). */
export const R1_ROOTS = ['bin', 'legacy', 'shims', 'native', 'dist'] as const;

const R1_FIXED: Record<string, number> = {
  env: 0o700, config: 0o700, lock: 0o700,
  'config/.server_identity': 0o600, 'config/integrity.sha256': 0o600, 'lock/proxmox-backup.lock': 0o600,
  VERSION: 0o640, 'flags.json': 0o640, 'flags.json.prev': 0o640, 'package.json': 0o640, 'package-lock.json': 0o640,
};

/** The mode R1 wants for an entry at `rel` (relative to BASE_DIR, '' for BASE_DIR itself). */
export function r1Mode(rel: string, entry: FsEntry): number {
  if (rel === '') return 0o755;
  if (rel === 'env/backup.env') return (entry.mode & 0o7777) === 0o400 ? 0o400 : 0o600;
  const fixed = R1_FIXED[rel];
  if (fixed !== undefined) return fixed;
  if (entry.kind === 'dir' || (entry.mode & 0o111) !== 0) return 0o750;
  return 0o640;
}

export interface InstallEntry extends FsEntry {
  /** The path relative to BASE_DIR, '' for BASE_DIR itself (bytes as latin1 characters when read from disk). */
  readonly rel: string;
}

type R1Group = 'base' | 'named' | 'root' | 'node_modules';

function r1Group(rel: string): R1Group | null {
  if (rel === '') return 'base';
  if ((R1_NAMED as readonly string[]).includes(rel)) return 'named';
  const parts = rel.split('/');
  if (parts[0] === 'node_modules') return 'node_modules';
  if ((R1_ROOTS as readonly string[]).includes(parts[0] ?? '') && !parts.includes('node_modules')) return 'root';
  return null;
}

/**
 * R1 over the entries a walk of BASE_DIR found (without following symlinks). Owner 0:0 when `rootOwner` (the
 * tool runs as root), else owners are left as they are. Under `node_modules` only group and other write bits
 * are removed. Order: BASE_DIR, the named entries in R1_NAMED order, then the roots and node_modules in walk order.
 */
export function planInstallation(entries: readonly InstallEntry[], rootOwner: boolean): PlannedChange[] {
  const owner: Owner | null = rootOwner ? { uid: 0, gid: 0 } : null;
  const byGroup: Record<R1Group, InstallEntry[]> = { base: [], named: [], root: [], node_modules: [] };
  for (const entry of entries) {
    const group = r1Group(entry.rel);
    if (group !== null) byGroup[group].push(entry);
  }
  byGroup.named.sort((a, b) => R1_NAMED.indexOf(a.rel as never) - R1_NAMED.indexOf(b.rel as never));
  const changes: PlannedChange[] = [];
  for (const entry of [...byGroup.base, ...byGroup.named, ...byGroup.root]) {
    const change = planEntry(entry, r1Mode(entry.rel, entry), owner);
    if (change !== null) changes.push(change);
  }
  for (const entry of byGroup.node_modules) {
    if ((entry.mode & 0o022) === 0) continue;
    const change = planEntry(entry, entry.mode & 0o7777 & ~0o022, null);
    if (change !== null) changes.push(change);
  }
  return changes;
}

// ---- R2: backup and log directories ----

/** Directories never changed themselves (F4), compared after resolving symlinks. */
export const PROTECTED_DIRS: ReadonlySet<string> = new Set(['/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib64',
  '/media', '/mnt', '/mnt/pve', '/opt', '/proc', '/root', '/run', '/sbin', '/srv', '/sys', '/tmp', '/usr', '/var',
  '/var/backups', '/var/lib', '/var/lib/vz', '/var/lib/vz/dump', '/var/log', '/var/tmp']);

export const BACKUP_TYPES = ['pve', 'pbs', 'dual', 'unknown'] as const;

const TS = String.raw`\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d`;
const ARCHIVE = String.raw`\.tar(?:\.(?!sha256$|metadata$)[a-z0-9]+)?(?:\.age)?`;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The mode R2 wants for a file named `name` of this host (security.md §7.3), or null for a name R2 leaves alone:
 * archives 0600; their `.sha256` and `.metadata`, logs (`.log`, with the native side's `.log.jsonl` twin), and
 * `.json`/`.log.json` reports 0640.
 */
export function r2Mode(name: string, fqdn: string, types: readonly string[]): number | null {
  const prefix = new RegExp(`^(?:${types.map(escapeRegExp).join('|')})-backup-${escapeRegExp(fqdn)}-${TS}`);
  const match = prefix.exec(name);
  if (match === null) return null;
  const rest = name.slice(match[0].length);
  if (new RegExp(`^${ARCHIVE}$`).test(rest)) return 0o600;
  if (new RegExp(`^${ARCHIVE}\\.(?:sha256|metadata)$`).test(rest)) return 0o640;
  if (/^\.(?:log|json|log\.json|log\.jsonl)$/.test(rest)) return 0o640;
  return null;
}

export interface BackupDirInput {
  /** The directory itself. */
  readonly dir: FsEntry;
  /** Its real path (symlinks resolved), to recognise a protected directory. */
  readonly realPath: string;
  /** The entries directly inside it; `path` is the full path, the name is its last component. */
  readonly children: readonly FsEntry[];
}

/** The last component of a path (bytes as latin1 characters: R2's names are ASCII, others never match). */
function baseName(path: FsPath): string {
  const text = typeof path === 'string' ? path : path.toString('latin1');
  return text.slice(text.lastIndexOf('/') + 1);
}

/**
 * R2 on one directory: itself (0750) unless protected, then this host's files directly in it, never deeper.
 * Files come type by type in `types` order, each type's in the order given (legacy: one `find` per type).
 */
export function planBackupDir(input: BackupDirInput, fqdn: string, types: readonly string[], owner: Owner | null):
  { readonly protected: boolean; readonly changes: PlannedChange[] } {
  const isProtected = PROTECTED_DIRS.has(input.realPath);
  const changes: PlannedChange[] = [];
  if (!isProtected) {
    const change = planEntry(input.dir, 0o750, owner);
    if (change !== null) changes.push(change);
  }
  for (const type of types) {
    for (const child of input.children) {
      if (child.kind !== 'file') continue;
      const mode = r2Mode(baseName(child.path), fqdn, [type]);
      if (mode === null) continue;
      const change = planEntry(child, mode, owner);
      if (change !== null) changes.push(change);
    }
  }
  return { protected: isProtected, changes };
}

// ---- failures (security.md F2, F5) ----

/** The errors that end work on an R2 directory with F5: the filesystem takes no owners or modes there. */
export const UNSUPPORTED_CODES: ReadonlySet<string> = new Set(['EPERM', 'EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EROFS']);

const STRERROR: Readonly<Record<string, string>> = {
  EPERM: 'Operation not permitted', EACCES: 'Permission denied', EROFS: 'Read-only file system',
  EINVAL: 'Invalid argument', ENOTSUP: 'Operation not supported', EOPNOTSUPP: 'Operation not supported',
  ENOENT: 'No such file or directory', ENOTDIR: 'Not a directory', EIO: 'Input/output error',
  ELOOP: 'Too many levels of symbolic links', ENAMETOOLONG: 'File name too long', ENOSPC: 'No space left on device',
  EDQUOT: 'Disk quota exceeded', ESTALE: 'Stale file handle',
  EEXIST: 'File exists', EISDIR: 'Is a directory', ENOTEMPTY: 'Directory not empty', EBUSY: 'Device or resource busy', EXDEV: 'Invalid cross-device link',
};

/** F2's `<reason>`: glibc's strerror text for an errno code, as chown and chmod end their message. */
export function strerror(code: string | undefined): string {
  return (code !== undefined ? STRERROR[code] : undefined) ?? 'unknown error';
}

// ---- the lines (security.md F1) ----

const octal = (mode: number): string => mode.toString(8).padStart(4, '0');

/** F1 for the owner part of a change (none when the owner stays): `Dry run: would change …` or `Changed …`. */
export function ownerMessage(change: PlannedChange, dryRun: boolean): string | undefined {
  if (change.owner === undefined) return undefined;
  const { from, to } = change.owner;
  return `${dryRun ? 'Dry run: would change' : 'Changed'} owner of ${esc(change.path)}: ${from.uid}:${from.gid} -> ${to.uid}:${to.gid}`;
}

/** F1 for the mode part of a change (none when the mode stays). */
export function modeMessage(change: PlannedChange, dryRun: boolean): string | undefined {
  if (change.mode === undefined) return undefined;
  return `${dryRun ? 'Dry run: would change' : 'Changed'} mode of ${esc(change.path)}: ${octal(change.mode.from)} -> ${octal(change.mode.to)}`;
}

/** The INFO lines of a plan: owner before mode for each path. */
export function changeMessages(changes: readonly PlannedChange[], dryRun: boolean): string[] {
  return changes.flatMap((change) => [ownerMessage(change, dryRun), modeMessage(change, dryRun)].filter((l) => l !== undefined));
}
