// Storage scans (collect.md §3.3, §4.3), the twin of legacy/lib/collect-scan.sh: PVE storages and their vzdump
// files, PBS datastores and their .pxar files. Listings hold `<bytes> <YYYY-MM-DD HH:MM:SS> <path>` lines sorted
// by path (`sort -k4`), names esc()-ed.
import { compareBytes, escPath, fromBytes, toBytes } from '../../core/bytes-path.js';
import { iecSize } from '../../core/human.js';
import { formatTimestamp } from '../../core/log.js';
import { C_DIR, F_DIR, type Collector, listDir, lstatOf, statOf } from './collector.js';
import type { Datastore } from './datastores.js';

export const PVE_BACKUP_PATTERNS = ['*.vma', '*.vma.gz', '*.vma.lz4', '*.vma.zst', '*.tar', '*.tar.gz', '*.tar.lz4', '*.tar.zst', '*.log', '*.notes'];

export interface ScanRecord { readonly size: number; readonly seconds: number; readonly record: string; readonly rel: string }

/** find -name GLOB on a base name: `*` is the only wildcard these patterns use. */
function nameMatcher(globs: readonly string[]): (name: string) => boolean {
  if (globs.length === 0) return () => true;
  const regexes = globs.map((g) => new RegExp(`^${g.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*')}$`));
  return (name) => regexes.some((r) => r.test(name));
}

/** scan_files DIR MAXDEPTH GLOB...: regular files below DIR (find order), `undefined` depth = unlimited. */
export function scanFiles(dir: string, depth: number | undefined, globs: readonly string[] = []): ScanRecord[] {
  const out: ScanRecord[] = [];
  const matches = nameMatcher(globs);
  const top = lstatOf(dir);
  if (top?.isDirectory() !== true) return out;
  const walk = (rel: string, level: number): void => {
    for (const name of listDir(rel === '' ? dir : `${dir}/${rel}`)) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const stat = lstatOf(`${dir}/${path}`);
      if (stat === undefined) continue;
      if (stat.isFile() && matches(name)) {
        const ns = BigInt(Math.round(stat.mtimeMs * 1000)) * 1000n;
        const seconds = Number(ns / 1_000_000_000n);
        const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0');
        out.push({ size: stat.size, seconds, record: `${stat.size} ${seconds}.${fraction}0 ${path}`, rel: path });
      }
      if (stat.isDirectory() && (depth === undefined || level < depth)) walk(path, level + 1);
    }
  };
  walk('', 1);
  return out;
}

export interface Listing { readonly lines: string[]; readonly count: number; readonly bytes: number }

/** scan_listing_lines PREFIX: `<bytes> <time> <PREFIX/path>` lines sorted by path (then line), with totals. */
export function listing(records: readonly ScanRecord[], prefix: string): Listing {
  const rows = records.map((r) => {
    const path = escPath(`${prefix}${r.rel}`);
    return { path, line: `${r.size} ${formatTimestamp(new Date(r.seconds * 1000))} ${path}` };
  });
  rows.sort((a, b) => compareBytes(a.path, b.path) || compareBytes(a.line, b.line));
  return { lines: rows.map((r) => r.line), count: records.length, bytes: records.reduce((sum, r) => sum + r.size, 0) };
}

/** The records in `sort -z` order (the whole record, size first). */
function sortedRecords(records: readonly ScanRecord[]): ScanRecord[] {
  return [...records].sort((a, b) => compareBytes(toBytes(a.record), toBytes(b.record)));
}

function substrings(items: readonly string[]): string[] {
  return items.map(toBytes).filter((item) => item !== '');
}

// ---------------------------------------------------------------------------------------------------
// PVE (V40-V45)

export function collectPveStorages(c: Collector, datastores: readonly Datastore[]): void {
  if (!c.config.AUTO_DETECT_DATASTORES) {
    c.log.debug('PVE storage analysis skipped (auto-detection disabled)');
    return;
  }
  const pve = datastores.filter((d) => d.type === 'PVE');
  if (pve.length === 0) return;
  const summary = pve.map((d) => `PVE|${d.name}|${d.path}|${d.comment}\n`).join('');
  c.generated(`${C_DIR}/pve/datastores/detected_datastores.txt`,
    `# PVE Datastores detected\n# Format: TYPE|NAME|PATH|COMMENT\n\n${summary}\n# Total PVE datastores detected: ${pve.length}\n`);
  for (const d of pve) {
    if (!d.path.startsWith('/') || statOf(`${c.srcRoot}${d.path}`)?.isDirectory() !== true) {
      c.log.debug(`PVE datastore not accessible: ${fromBytes(d.name)} (${escPath(d.path)})`);
      continue;
    }
    collectPveStorage(c, d);
  }
}

function collectPveStorage(c: Collector, d: Datastore): void {
  const dir = `${c.srcRoot}${d.path}`;
  const out = `${C_DIR}/pve/datastores/${d.name}`;
  const dirs: string[] = [];
  const walkDirs = (rel: string, level: number): void => {
    dirs.push(escPath(`${d.path}${rel === '' ? '' : `/${rel}`}`));
    if (level >= 2) return;
    for (const name of listDir(rel === '' ? dir : `${dir}/${rel}`)) {
      const path = rel === '' ? name : `${rel}/${name}`;
      if (lstatOf(`${dir}/${path}`)?.isDirectory() === true) walkDirs(path, level + 1);
    }
  };
  if (lstatOf(dir)?.isDirectory() === true) walkDirs('', 0);
  dirs.sort(compareBytes);
  const total = scanFiles(dir, undefined).reduce((sum, r) => sum + r.size, 0);
  const sample = listing(scanFiles(dir, 3), `${d.path}/`).lines.slice(0, 10).map((line) => {
    const [size = '', day = '', time = '', ...file] = line.split(' ');
    return `${day} ${time} ${size} ${file.join(' ').replace(/[ \t]+$/, '')}\n`;
  });
  c.generated(`${out}/metadata.txt`, `# Datastore: ${d.name}\n# Path: ${d.path}\n# Type: ${d.comment}\n\n## Directory Structure (max 2 levels):\n`
    + dirs.slice(0, 20).map((l) => `${l}\n`).join('') + `\n## Disk Usage:\n${total}\t${d.path}\n\n## File Types (sample):\n${sample.join('')}`);
  c.ok += 1;
  if (c.switchOn('BACKUP_PVE_BACKUP_FILES', 'PVE backup file analysis disabled')) collectPveBackupAnalysis(c, d);
}

function collectPveBackupAnalysis(c: Collector, d: Datastore): void {
  const dir = `${c.srcRoot}${d.path}`;
  const out = `${C_DIR}/pve/datastores/${d.name}/backup_analysis`;
  let summary = '';
  let totalFiles = 0;
  let totalBytes = 0;
  for (const pattern of PVE_BACKUP_PATTERNS) {
    const ext = pattern.replace(/\*/g, '');
    const found = listing(scanFiles(dir, undefined, [pattern]), `${d.path}/`);
    const body = found.count > 0 ? `${found.lines.join('\n')}\n# Total files found: ${found.count}\n` : `# No backup files found matching pattern: ${pattern}\n`;
    c.generated(`${out}/${d.name}_${ext}_list.txt`,
      `# PVE backup files matching pattern: ${pattern}\n# Datastore: ${d.name} (${d.path})\n# Format: size mtime path\n\n${body}`);
    summary += `## Files matching pattern: ${pattern}\n`;
    summary += found.count > 0 ? `  Files: ${found.count}\n  Total size: ${iecSize(found.bytes)}\n` : '  No files found\n';
    totalFiles += found.count;
    totalBytes += found.bytes;
  }
  c.generated(`${out}/${d.name}_backup_summary.txt`,
    `${summary}## Overall Summary\nTotal backup files: ${totalFiles}\nTotal backup size: ${iecSize(totalBytes)}\n`);
  collectPveBackupCopies(c, d);
}

/** V44, V45: copies of small and of selected vzdump files, relative paths kept. */
function collectPveBackupCopies(c: Collector, d: Datastore): void {
  const includes = substrings(c.config.PVE_BACKUP_INCLUDE_PATTERN);
  const small = c.config.BACKUP_SMALL_PVE_BACKUPS;
  if (!small && includes.length === 0) return;
  const max = c.config.MAX_PVE_BACKUP_SIZE;
  let copied = 0;
  for (const r of sortedRecords(scanFiles(`${c.srcRoot}${d.path}`, undefined, PVE_BACKUP_PATTERNS))) {
    if (small && r.size < max) {
      c.file(`${d.path}/${r.rel}`, `${F_DIR}/pve/small_backups/${d.name}/${r.rel}`, 'small PVE backup', 'skip');
      copied += 1;
    }
    if (includes.some((item) => r.rel.includes(item))) c.file(`${d.path}/${r.rel}`, `${F_DIR}/pve/selected_backups/${d.name}/${r.rel}`, 'selected PVE backup', 'skip');
  }
  if (copied > 0) c.log.info(`Copied ${copied} small PVE backup files from datastore ${fromBytes(d.name)}`);
}

// ---------------------------------------------------------------------------------------------------
// PBS (B20-B23)

export function collectPbsDatastores(c: Collector, datastores: readonly Datastore[]): void {
  if (!c.config.BACKUP_PXAR_FILES) {
    c.log.debug('Backup of .pxar files is disabled');
    return;
  }
  const pbs = datastores.filter((d) => d.type === 'PBS');
  for (const d of pbs) collectPbsDatastore(c, d.name, d.path, d.comment);
  if (pbs.length > 0) return;
  c.log.warning('No PBS datastores auto-detected, checking manual configuration');
  const manual = toBytes(c.config.PBS_DATASTORE_PATH);
  if (manual !== '') collectPbsDatastore(c, 'manual', manual, 'Manual configuration');
  else collectPbsDatastore(c, 'fallback', '/var/lib/proxmox-backup/datastore', 'Default fallback');
}

function collectPbsDatastore(c: Collector, ds: string, path: string, comment: string): void {
  const dir = `${c.srcRoot}${path}`;
  if (statOf(dir)?.isDirectory() !== true) {
    c.failed += 1;
    c.log.warning(`Failed to collect datastore base directory - ${escPath(path)} - directory not found for datastore: ${fromBytes(ds)}`);
    return;
  }
  const entries = listDir(dir).filter((e) => e !== '.chunks' && e !== '.lock').sort(compareBytes);
  c.generated(`${C_DIR}/pbs/pxar_metadata/${ds}_subdirs.txt`,
    `# Datastore subdirectories in ${escPath(path)}\n# Datastore: ${ds} (${comment})\n${entries.map((e) => `${escPath(e)}\n`).join('')}`);
  c.ok += 1;
  for (const entry of entries) {
    if (lstatOf(`${dir}/${entry}`)?.isDirectory() !== true) continue;
    collectPbsGroupListing(c, ds, path, entry);
  }
}

const PXAR_GLOBS = ['*.pxar', '*.pxar.didx', '*.mpxar.didx', '*.ppxar.didx'];

function collectPbsGroupListing(c: Collector, ds: string, path: string, entry: string): void {
  const dir = `${c.srcRoot}${path}`;
  const records = scanFiles(`${dir}/${entry}`, undefined, PXAR_GLOBS);
  const found = listing(records, `${entry}/`);
  const body = found.count > 0 ? `${found.lines.join('\n')}\n# Total: ${found.count} files\n` : '# No .pxar files found\n';
  c.generated(`${C_DIR}/pbs/pxar_metadata/${ds}_${entry}_pxar_list.txt`,
    `# List of .pxar files in ${escPath(path)}/${escPath(entry)}\n# Datastore: ${ds}, Subdirectory: ${escPath(entry)}\n# Format: size mtime path\n${body}`);
  if (found.count > 0) c.log.info(`Found ${found.count} .pxar files in datastore: ${fromBytes(ds)}/${escPath(entry)}`);
  const includes = substrings(c.config.PXAR_INCLUDE_PATTERN);
  const smallOn = c.config.BACKUP_SMALL_PXAR;
  const max = c.config.MAX_PXAR_SIZE;
  let small = 0;
  for (const r of sortedRecords(records)) {
    const rel = `${entry}/${r.rel}`;
    if (smallOn && r.size < max) {
      c.file(`${path}/${rel}`, `${F_DIR}/pbs/small_pxar/${ds}/${rel}`, 'small .pxar file', 'skip');
      small += 1;
    }
    if (includes.some((item) => rel.includes(item))) c.file(`${path}/${rel}`, `${F_DIR}/pbs/selected_pxar/${ds}/${rel}`, 'selected .pxar file', 'skip');
  }
  if (small > 0) c.log.info(`Copied ${small} small .pxar files from datastore ${fromBytes(ds)}/${escPath(entry)}`);
}
