// The listing pass and the plan of restore.md §4.3, §5.6, §6.2, §6.4, §7, §8: the twin of legacy/lib/restore.pl's
// cmd_scan and cmd_plan. Pure: the archive comes as a ByteReader, the disk as a DiskView (native/restore/disk.ts
// reads the real one), the result is data — log records, per-entry actions, what the safety backup must hold, the
// space each file system needs, counts and hints — worded and counted exactly as restore.pl prints them.
// Names are byte strings (latin1 JS strings) end to end; they reach a message only through escPath().
import { compareBytes, escPath } from '../core/bytes-path.js';
import { CATEGORIES, CATEGORY_ORDER, categoryOf, onRoot } from './categories.js';
import { ByteReader, copyData, CorruptArchive, MAX_ENTRIES, nextEntry, normaliseName, staticReason } from './tar-reader.js';

/** One row of the entry table (restore.pl's TABLE line). */
export interface ScanEntry {
  readonly index: number;
  /** The tar type flag, `7` read as `0`. */
  readonly type: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  readonly size: number;
  readonly category: string;
  readonly name: string;
  readonly link: string;
  readonly norm: string;
  /** The §8 refusal reason from the table alone, '' when the entry is safe. */
  readonly reason: string;
}

export interface CategoryCount { readonly name: string; readonly count: number; readonly onRoot: string }

export interface Scan {
  readonly entries: readonly ScanEntry[];
  /** Non-directory entries per category, in CATEGORY_ORDER (`(reports)` last). */
  readonly counts: readonly CategoryCount[];
}

/** cmd_scan: the whole stream read once (every header and data block). Throws CorruptArchive with its reason. */
export async function scanArchive(reader: ByteReader): Promise<Scan> {
  const entries: ScanEntry[] = [];
  const symlinks = new Set<string>();
  const regular = new Set<string>();
  const count = new Map<string, number>();
  for (let h = await nextEntry(reader); h !== undefined; h = await nextEntry(reader)) {
    if (entries.length >= MAX_ENTRIES) throw new CorruptArchive('more than 1000000 entries');
    await copyData(reader, h.data);
    const type = h.type === '7' ? '0' : h.type;
    const norm = normaliseName(h.name);
    const category = categoryOf(norm, type === '5');
    const reason = staticReason({ name: h.name, type, link: h.link }, norm, symlinks, regular);
    if (type === '2') symlinks.add(norm);
    if (type === '0') regular.add(norm);
    if (type !== '5' && norm !== '') count.set(category, (count.get(category) ?? 0) + 1);
    entries.push({ index: entries.length, type, mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime, size: h.size, category,
      name: h.name, link: h.link, norm, reason });
  }
  return { entries, counts: CATEGORY_ORDER.map((name) => ({ name, count: count.get(name) ?? 0, onRoot: onRoot(name) })) };
}

// ---------------------------------------------------------------------------------------------------
// The disk, as the planner sees it

export interface DiskStat {
  /** `file` is a regular file; a symlink is `symlink` (restore.pl's disk_kind folds both into `file`). */
  readonly kind: 'dir' | 'file' | 'symlink' | 'special';
  readonly mode: number;   // permission bits (07777)
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;  // whole seconds
  readonly size: number;
}

/** What the planner asks of the file system; every path is an absolute byte string. */
export interface DiskView {
  /** lstat(), undefined when nothing is there (or it cannot be read). */
  lstat(path: string): DiskStat | undefined;
  /** Cwd::realpath, undefined when it cannot be resolved. */
  realpath(path: string): string | undefined;
  /** Perl's `-d` (follows links). */
  isDir(path: string): boolean;
}

// ---------------------------------------------------------------------------------------------------
// The plan

export type PveMode = 'pmxcfs' | 'blocked' | 'plain';

export interface PlanSettings {
  /** The realpath of --to. */
  readonly root: string;
  readonly selected: readonly string[];
  readonly pveMode: PveMode;
  readonly dryRun: boolean;
  readonly asRoot: boolean;
}

/** Where a planned file's content comes from. */
export type Source =
  | { readonly kind: 'entry' }                                    // its own data (or nothing: dir, symlink)
  | { readonly kind: 'hardlink'; readonly index: number }          // the restored file of that entry
  | { readonly kind: 'dedup'; readonly index: number }             // that entry's data (§6.4 dedup link)
  | { readonly kind: 'chunks'; readonly parts: readonly { readonly index: number; readonly offset: number }[] };

export interface Action {
  readonly op: 'create' | 'replace' | 'dirmeta' | 'remove';
  /** The restored path relative to ROOT (a chunked file's, not its marker's). */
  readonly norm: string;
  /** The entry's own category (restore.pl's plan `cat`). */
  readonly cat: string;
  readonly source: Source;
  /** Bytes this writes (what §4.4 counts). */
  readonly bytes: number;
  /** Bytes of the regular file it replaces. */
  readonly oldSize: number;
  /** dirmeta: the directory's metadata differs from the entry's. */
  readonly changes: boolean;
  /** dirmeta over a pre-existing link to a directory inside ROOT: the link is kept. */
  readonly keep: boolean;
}

export interface LogRecord { readonly level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR'; readonly message: string }

export interface Plan {
  readonly logs: readonly LogRecord[];
  /** Actions by entry index, ascending; `remove` actions (stale SQLite files) have indexes past the table. */
  readonly actions: ReadonlyMap<number, Action>;
  /** What the safety backup holds, relative to ROOT, byte-sorted. */
  readonly safety: readonly string[];
  readonly safetyBytes: number;
  /** The categories of what the safety backup holds, in table order, comma-joined. */
  readonly safetyCategories: string;
  /** Bytes to write per receiving directory (its nearest existing ancestor), byte-sorted by directory. */
  readonly space: readonly (readonly [string, number])[];
  readonly notSelected: number;
  readonly reports: number;
  readonly other: number;
  readonly refused: number;
  readonly failed: number;
  /** Entries to write (every action but `remove`). */
  readonly writes: number;
  /** Sorted subset of authkey, cluster, network, pbs, systemd. */
  readonly hints: readonly string[];
}

export const TAMPER_WARNING = 'This archive contains entries that point outside the target; it may have been tampered with';

/** target_of: ROOT/NORM without doubling the slash of `/`. */
export function targetOf(root: string, norm: string): string {
  return root === '/' ? `/${norm}` : `${root}/${norm}`;
}

export function insideRoot(root: string, path: string): boolean {
  return root === '/' || path === root || path.startsWith(`${root}/`);
}

/** Perl's split m{/}: trailing empty fields dropped. */
function splitPath(path: string): string[] {
  const parts = path.split('/');
  while (parts.length > 0 && parts.at(-1) === '') parts.pop();
  return parts;
}

/** File::Basename dirname of an absolute path without a trailing slash. */
function dirname(path: string): string {
  const cut = path.replace(/\/+$/, '').lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut).replace(/\/+$/, '') || '/';
}

/** parent_state: '' when every parent is a directory, missing, or a link to a directory inside ROOT; else why not. */
function parentState(disk: DiskView, root: string, norm: string, cache: Map<string, string>): '' | 'escape' | 'notdir' {
  const parts = splitPath(norm);
  let cur = root === '/' ? '' : root;
  for (let i = 0; i < parts.length - 1; i += 1) {
    const path = `${cur}/${parts[i] ?? ''}`;
    const key = parts.slice(0, i + 1).join('/');
    let state = cache.get(key);
    if (state === undefined) {
      const st = disk.lstat(path);
      if (st === undefined) state = 'missing';
      else if (st.kind === 'dir') state = 'dir';
      else if (st.kind === 'symlink') {
        const real = disk.realpath(path);
        state = real !== undefined && disk.isDir(real) && insideRoot(root, real) ? 'dir' : 'escape';
      } else state = 'notdir';
      cache.set(key, state);
    }
    if (state === 'missing') return '';
    if (state !== 'dir') return state as 'escape' | 'notdir';
    cur = path;
  }
  return '';
}

const CHUNK_RE = /^chunked_files\/(.+)\.(\d+)\.chunk\n?$/s;
const MARKER_RE = /^(.+)\.chunked\n?$/s;
const DEDUP_RE = /^\/tmp\/proxmox-backup-[^/]+\/(.+)$/s;
const PVE_RE = /^etc\/pve(?:\/|\n?$)/;

/** chunk_groups: safe regular-file markers `<rel>.chunked` and their `chunked_files/<rel>.<NN>.chunk` parts. */
function chunkGroups(table: readonly ScanEntry[]): { markers: Map<string, ScanEntry>; chunks: Map<string, Map<number, ScanEntry>> } {
  const markers = new Map<string, ScanEntry>();
  const chunks = new Map<string, Map<number, ScanEntry>>();
  for (const e of table) {
    if (e.type !== '0' || e.reason !== '') continue;
    const c = CHUNK_RE.exec(e.norm);
    if (c !== null) {
      const rel = c[1] ?? '';
      const parts = chunks.get(rel) ?? new Map<number, ScanEntry>();
      parts.set(Number(c[2]), e);
      chunks.set(rel, parts);
      continue;
    }
    const m = MARKER_RE.exec(e.norm);
    if (m !== null) markers.set(m[1] ?? '', e);
  }
  return { markers, chunks };
}

interface Context {
  readonly disk: DiskView;
  readonly settings: PlanSettings;
  readonly cache: Map<string, string>;
  readonly byNorm: ReadonlyMap<string, ScanEntry>;
  readonly actions: ReadonlyMap<number, Action>;
  readonly chunks: ReadonlyMap<string, ReadonlyMap<number, ScanEntry>>;
}

/** plan_entry: the action, or the WARNING text (never '' here: restore.pl's silent skip does not occur). */
function planEntry(ctx: Context, e: ScanEntry, norm: string): Action | string {
  const { disk, settings: { root, asRoot } } = ctx;
  const shown = escPath(norm);
  const target = targetOf(root, norm);
  const parent = parentState(disk, root, norm, ctx.cache);
  if (parent === 'escape') return `Refused ${shown}: escapes the target through a symlink`;
  if (parent === 'notdir') return `Failed to restore ${shown}: Not a directory`;
  const st = disk.lstat(target);
  const base = { norm, cat: e.category, source: { kind: 'entry' } as Source, bytes: 0, oldSize: 0, changes: false, keep: false };
  if (e.type === '5') {
    if (st === undefined) return { ...base, op: 'create' };
    if (st.kind === 'dir') {
      const changes = st.mode !== e.mode || st.mtime !== e.mtime || (asRoot && (st.uid !== e.uid || st.gid !== e.gid));
      return { ...base, op: 'dirmeta', changes };
    }
    if (st.kind === 'symlink') {
      const real = disk.realpath(target);
      if (real !== undefined && disk.isDir(real) && insideRoot(root, real)) return { ...base, op: 'dirmeta', keep: true };
    }
    return `Skipped ${shown}: not a directory on disk`;
  }
  if (st?.kind === 'dir') return `Skipped ${shown}: a directory exists there`;
  if (st?.kind === 'special') return `Skipped ${shown}: special file on disk`;
  const file = { ...base, op: st === undefined ? 'create' as const : 'replace' as const, oldSize: st?.kind === 'file' ? st.size : 0 };
  if (e.type === '0' && norm !== e.norm) {   // a chunked file's marker
    const parts = ctx.chunks.get(norm) ?? new Map<number, ScanEntry>();
    const nums = [...parts.keys()].sort((a, b) => a - b);
    const last = nums.at(-1) ?? -1;
    for (let n = 0; n <= last; n += 1) if (!parts.has(n)) return `Skipped ${shown}: chunk ${n} missing`;
    let offset = 0;
    const spec: { index: number; offset: number }[] = [];
    for (const n of nums) {
      const part = parts.get(n) as ScanEntry;
      spec.push({ index: part.index, offset });
      offset += part.size;
    }
    return { ...file, bytes: offset, source: { kind: 'chunks', parts: spec } };
  }
  if (e.type === '0') return { ...file, bytes: e.size };
  if (e.type === '1') {
    const src = ctx.byNorm.get(normaliseName(e.link));
    const op = src === undefined ? undefined : ctx.actions.get(src.index)?.op;
    if (src === undefined || (op !== 'create' && op !== 'replace')) return `Skipped ${shown}: hard link to an entry that is not restored`;
    return { ...file, bytes: src.size, source: { kind: 'hardlink', index: src.index } };
  }
  const dedup = e.type === '2' ? DEDUP_RE.exec(e.link) : null;
  if (dedup !== null) {
    const src = ctx.byNorm.get(normaliseName(dedup[1] ?? ''));
    if (src?.reason !== '') return `Refused ${shown}: link into an old temporary directory`;
    return { ...file, bytes: src.size, source: { kind: 'dedup', index: src.index } };
  }
  return file;
}

/**
 * space_dir: the nearest existing ancestor directory of TARGET (its file system receives the file). DIRS keeps
 * each answer of `isDir` for the plan (it writes nothing): in an empty target every file would stat every level.
 */
function spaceDir(disk: DiskView, target: string, dirs: Map<string, boolean>): string {
  const isDir = (path: string): boolean => {
    let known = dirs.get(path);
    if (known === undefined) dirs.set(path, known = disk.isDir(path));
    return known;
  };
  let dir = dirname(target);
  while (!isDir(dir) && dir !== '/') dir = dirname(dir);
  return dir;
}

/** cmd_plan: every entry of the table against the disk, in archive order. */
export function planRestore(table: readonly ScanEntry[], disk: DiskView, settings: PlanSettings): Plan {
  const { root, pveMode, dryRun } = settings;
  const selected = new Set(settings.selected);
  const logs: LogRecord[] = [];
  const log = (level: LogRecord['level'], message: string): void => { logs.push({ level, message }); };
  const actions = new Map<number, Action>();
  const blocked = new Set<string>();
  const safety: string[] = [];
  const safetyCats = new Set<string>();
  const space = new Map<string, number>();
  const dirs = new Map<string, boolean>();
  let tamper = false;
  let refused = 0;
  let notSelected = 0;
  let reports = 0;
  let other = 0;
  let failed = 0;
  let safetyBytes = 0;
  const last = new Map<string, number>();
  for (const e of table) if (e.norm !== '') last.set(e.norm, e.index);
  const { markers, chunks } = chunkGroups(table);
  const chunkMember = new Map<number, string>();
  for (const rel of markers.keys()) for (const part of chunks.get(rel)?.values() ?? []) chunkMember.set(part.index, rel);
  const byNorm = new Map<string, ScanEntry>();
  for (const e of table) if (e.type === '0') byNorm.set(e.norm, e);
  const ctx: Context = { disk, settings, cache: new Map(), byNorm, actions, chunks };
  for (const e of table) {
    let { norm, category: cat } = e;
    if (norm === '') continue;
    let shown = escPath(norm);
    if (e.reason !== '') {
      log('WARNING', `Refused ${shown}: ${e.reason}`);
      refused += 1;
      if (/^(absolute path|parent directory reference|path goes through)/.test(e.reason)) tamper = true;
      continue;
    }
    if (cat === '-') continue;
    const rel = chunkMember.get(e.index);
    if (rel === undefined && cat === '(reports)') {
      reports += 1;
      continue;
    }
    const markerMatch = e.type === '0' ? MARKER_RE.exec(norm) : null;
    const markerRel = markerMatch !== null && markers.get(markerMatch[1] ?? '')?.index === e.index ? markerMatch[1] ?? '' : undefined;
    if (rel !== undefined) {   // a chunk goes with its marker, whose target is the rejoined file's
      reports += 1;
      continue;
    }
    if (markerRel !== undefined) {
      norm = markerRel;
      shown = escPath(norm);
      cat = categoryOf(norm, false);
    }
    if (!selected.has(cat)) {
      notSelected += 1;
      continue;
    }
    if (last.get(e.norm) !== e.index) {
      log('WARNING', `Duplicate entry ${shown}; the last one is used`);
      other += 1;
      continue;
    }
    if (PVE_RE.test(norm) && pveMode === 'blocked') {
      if (!blocked.has(cat)) log('WARNING', `Skipped ${cat}: ${escPath(root === '/' ? '' : root)}/etc/pve is not a running pmxcfs; its content comes from config.db`);
      blocked.add(cat);
      other += 1;
      continue;
    }
    if (norm.startsWith('etc/pve/') && pveMode === 'pmxcfs' && e.type === '2') {
      log('INFO', `Skipped ${shown}: pmxcfs manages this link`);
      other += 1;
      continue;
    }
    const action = planEntry(ctx, e, norm);
    if (typeof action === 'string') {
      log('WARNING', action);
      if (action.startsWith('Refused')) refused += 1;
      if (action.includes('escapes the target')) tamper = true;
      if (action.startsWith('Skipped')) other += 1;
      if (action.startsWith('Failed')) failed += 1;
      continue;
    }
    actions.set(e.index, action);
    const target = targetOf(root, norm);
    if (action.op === 'replace' || (action.op === 'dirmeta' && action.changes)) {
      safety.push(norm);
      safetyCats.add(cat);
      safetyBytes += action.oldSize;
    }
    if (action.bytes !== 0) {
      const dir = spaceDir(disk, target, dirs);
      space.set(dir, (space.get(dir) ?? 0) + action.bytes);
    }
    if (dryRun) {
      const what = action.op === 'create' ? (e.type === '5' ? 'create directory' : 'create') : action.op === 'replace' ? 'replace' : '';
      if (what !== '') log('INFO', `Dry run: would ${what} ${escPath(target)}`);
    }
  }
  safetyBytes += staleSqliteFiles(table, actions, disk, root, safety, safetyCats);
  if (tamper) log('WARNING', TAMPER_WARNING);
  const hints = new Set<string>();
  for (const a of actions.values()) {
    if (a.op === 'dirmeta' && !a.changes) continue;
    if (/^etc\/proxmox-backup(?:\/|\n?$)/.test(a.norm)) hints.add('pbs');
    if (/^etc\/systemd(?:\/|\n?$)/.test(a.norm)) hints.add('systemd');
    if (a.cat === 'network') hints.add('network');
    if (a.cat === 'pve-cluster' || a.cat === 'corosync') hints.add('cluster');
  }
  if (table.some((e) => e.norm === 'etc/corosync/authkey')) hints.add('authkey');
  return {
    logs, actions: new Map([...actions].sort(([a], [b]) => a - b)), safety: safety.sort(compareBytes), safetyBytes,
    safetyCategories: CATEGORIES.map((c) => c.name).filter((c) => safetyCats.has(c)).join(','),
    space: [...space].sort(([a], [b]) => compareBytes(a, b)),
    notSelected, reports, other, refused, failed,
    writes: [...actions.values()].filter((a) => a.op !== 'remove').length,
    hints: [...hints].sort(),
  };
}

/**
 * stale_sqlite_files: config.db written → a regular config.db-wal/-shm on disk that the archive lacks is saved
 * and removed (SQLite would replay it into the restored database). Returns the bytes added to the safety backup.
 */
function staleSqliteFiles(table: readonly ScanEntry[], actions: Map<number, Action>, disk: DiskView, root: string,
  safety: string[], cats: Set<string>): number {
  const names = new Set(table.map((e) => e.norm));
  const db = [...actions].some(([i, a]) => table[i]?.norm === 'var/lib/pve-cluster/config.db' && (a.op === 'create' || a.op === 'replace'));
  if (!db) return 0;
  let n = table.length;
  let bytes = 0;
  for (const suffix of ['-wal', '-shm']) {
    const norm = `var/lib/pve-cluster/config.db${suffix}`;
    if (names.has(norm)) continue;
    const st = disk.lstat(targetOf(root, norm));
    if (st?.kind !== 'file') continue;
    actions.set(n, { op: 'remove', norm, cat: 'pve-cluster', source: { kind: 'entry' }, bytes: 0, oldSize: 0, changes: false, keep: false });
    n += 1;
    safety.push(norm);
    cats.add('pve-cluster');
    bytes += st.size;
  }
  return bytes;
}
