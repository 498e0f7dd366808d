// A storage stage in shadow (ARCHITECTURE "Dispatch"): the candidate must act on the tiers as the control found
// them, without touching them. Before the control runs, the local and secondary tier directories are mirrored into
// the scratch copy: every entry with its name, mode, owner and mtime, and the content only for this run's set (the
// copy, hash and consistency steps read it); older sets are empty stand-ins, since retention, orphans and the
// permission step go by names, modes and owners. The cloud tier is never touched by the candidate: it replays the
// control's rclone calls (PBK_RCLONE_RECORD_DIR / PBK_RCLONE_REPLAY_DIR, native/storage/cloud.ts).
import { chmodSync, copyFileSync, lchownSync, lstatSync, mkdirSync, readdirSync, readlinkSync, statSync, symlinkSync, utimesSync,
  writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isDirectory } from '../core/programs.js';

/** The tier directories a storage stage writes to (and shadow redirects). */
export const TIER_DIR_KEYS = ['LOCAL_BACKUP_PATH', 'LOCAL_LOG_PATH', 'SECONDARY_BACKUP_PATH', 'SECONDARY_LOG_PATH'] as const;

function sameOwner(path: string, uid: number, gid: number): void {
  try {
    lchownSync(path, uid, gid);
  } catch {
    // not root: the owner stays ours, and so does the control's view of it (its chown fails alike)
  }
}

function mirrorEntry(from: string, to: string, withContent: boolean): void {
  const stats = lstatSync(from);
  if (stats.isSymbolicLink()) {
    symlinkSync(readlinkSync(from), to);
  } else if (stats.isFile()) {
    if (withContent) copyFileSync(from, to);
    else writeFileSync(to, '');
    chmodSync(to, stats.mode & 0o7777);
    utimesSync(to, stats.atime, stats.mtime);
  } else {
    return;
  }
  sameOwner(to, stats.uid, stats.gid);
}

/** DIR's entries (not deeper) into COPY, with content for the names in FULL. */
export function mirrorDir(dir: string, copy: string, full: ReadonlySet<string>): void {
  const stats = statSync(dir);
  mkdirSync(copy, { recursive: true });
  for (const name of readdirSync(dir)) mirrorEntry(join(dir, name), join(copy, name), full.has(name));
  chmodSync(copy, stats.mode & 0o7777);
  sameOwner(copy, stats.uid, stats.gid);
}

/**
 * Mirrors each real tier directory (SHADOW_ORIG_<KEY> in the scratch context) into the scratch one (<KEY>); the set
 * of BACKUP_FILE with its content. A directory that does not exist stays absent in the copy too.
 */
export function mirrorTiers(context: ReadonlyMap<string, string>, backupFile: string): void {
  const done = new Set<string>();
  for (const key of TIER_DIR_KEYS) {
    const real = context.get(`SHADOW_ORIG_${key}`) ?? '';
    const copy = context.get(key) ?? '';
    if (real === '' || copy === '' || done.has(copy) || !isDirectory(real)) continue;
    done.add(copy);
    const name = backupFile.slice(backupFile.lastIndexOf('/') + 1);
    const full = backupFile !== '' && dirname(backupFile) === real.replace(/\/+$/, '')
      ? new Set([name, `${name}.sha256`, `${name}.metadata`]) : new Set<string>();
    mirrorDir(real, copy, full);
  }
}

/** The names in each tier directory after a stage (the shadow's `tiers` artefact): what is left, compared by name. */
export function tierListing(context: ReadonlyMap<string, string>): string {
  let text = '';
  for (const key of TIER_DIR_KEYS) {
    const dir = context.get(key) ?? '';
    let names: string[] = [];
    try {
      names = readdirSync(dir).sort();
    } catch {
      names = ['(absent)'];
    }
    text += `[${key}]\n${names.map((n) => `${n}\n`).join('')}`;
  }
  return text;
}
