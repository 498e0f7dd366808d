// The tiers as the restore tools see them (restore.md §2, §3): which are enabled, their rows for `list`,
// finding an archive by name, and fetching one from the cloud — the I/O around archives.ts, shared by `list`,
// `verify` and the future native `restore`. Paths and names are byte strings (archives.ts).
import { chmodSync, mkdirSync, readdirSync, readFileSync, statfsSync, statSync, type Dirent } from 'node:fs';
import type { ConfigValues } from '../core/config-keys.js';
import { hasProgram } from '../core/programs.js';
import { runTimestamp } from '../core/human.js';
import { escPath, fromBytes, fsPath, joinBytes, toBytes } from '../core/bytes-path.js';
import {
  ARCHIVE_RE, parseLsjson, rcloneReason, sidecarHash, type ListError, type ListRow, type ShaState, type Tier,
} from './archives.js';
import { rclone, remoteOf } from './rclone.js';
import { sha256Within } from './stream.js';

export interface TierSettings {
  /** The loaded configuration, typed (native/core/config-view.ts). */
  readonly config: ConfigValues;
  readonly env: Readonly<Record<string, string | undefined>>;
}


/** stat() of a byte-string path (following links, as `[[ -e ]]`, `[[ -f ]]`), or undefined. */
export function statBytes(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(fsPath(path));
  } catch {
    return undefined;
  }
}

const exists = (path: string): boolean => statBytes(path) !== undefined;
const isFileBytes = (path: string): boolean => statBytes(path)?.isFile() === true;

/** A file's content as a byte string, or undefined when it cannot be read. */
export function readBytes(path: string): string | undefined {
  try {
    return readFileSync(fsPath(path)).toString('latin1');
  } catch {
    return undefined;
  }
}

export const secondaryEnabled = (s: TierSettings): boolean => s.config.ENABLE_SECONDARY_BACKUP;
export const cloudEnabled = (s: TierSettings): boolean => s.config.ENABLE_CLOUD_BACKUP && hasProgram('rclone', s.env.PATH ?? '');

/** sidecar_state: present | missing | invalid. */
export function sidecarState(archive: string, name: string): ShaState {
  if (!exists(`${archive}.sha256`)) return 'missing';
  const content = readBytes(`${archive}.sha256`);
  return content !== undefined && sidecarHash(content, name) !== undefined ? 'present' : 'invalid';
}

export interface TierListing { readonly rows: ListRow[]; readonly error?: ListError }

/** list_dir: the archives directly in DIR (a configuration value), hashed under CHECK. */
export async function listDirectory(tier: Tier, dir: string, check: boolean, s: TierSettings): Promise<TierListing> {
  const bytesDir = toBytes(dir);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) return { rows: [], error: { tier, message: `${escPath(bytesDir)}: not a directory` } };
  let entries: Dirent<Buffer>[];
  try {
    entries = readdirSync(fsPath(bytesDir), { withFileTypes: true, encoding: 'buffer' });
  } catch {
    return { rows: [], error: { tier, message: `listing ${escPath(bytesDir)} timed out or failed` } };
  }
  const rows: ListRow[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const name = entry.name.toString('latin1');
    if (!ARCHIVE_RE.test(name)) continue;
    const path = `${bytesDir}/${name}`;
    let size = 0;
    try {
      size = statSync(fsPath(path)).size;
    } catch {
      continue;
    }
    let sha = sidecarState(path, name);
    if (check && sha === 'present') {
      const expected = sidecarHash(readBytes(`${path}.sha256`) ?? '', name);
      const actual = await sha256Within(path, s.config.VERIFICATION_TIMEOUT);
      sha = actual !== undefined && actual === expected ? 'ok' : 'mismatch';
    }
    const location = joinBytes(bytesDir.endsWith('/') ? bytesDir.slice(0, -1) : bytesDir, name);
    rows.push({ tier, name, location, size, sha256: sha, metadata: isFileBytes(`${path}.metadata`) });
  }
  return { rows };
}

const cloudRemote = (s: TierSettings): string => remoteOf(s.config.RCLONE_REMOTE, s.config.CLOUD_BACKUP_PATH);
const cloudLimit = (s: TierSettings): number => s.config.CLOUD_LIST_TIMEOUT;

/** list_cloud: rclone lsjson of the cloud path (with --hash under CHECK); CHECK compares each sidecar. */
export async function listCloud(check: boolean, s: TierSettings): Promise<TierListing> {
  const remote = cloudRemote(s);
  const listed = await rclone(['lsjson', '--files-only', ...(check ? ['--hash'] : []), remote], cloudLimit(s), s.config.RCLONE_FLAGS, s.env);
  if (!listed.ok) return { rows: [], error: { tier: 'cloud', message: rcloneReason(listed.stderr) } };
  const files = parseLsjson(listed.stdout.toString('utf8'));
  if (files === undefined) return { rows: [], error: { tier: 'cloud', message: 'unreadable listing from rclone' } };
  const present = new Set(files.map((f) => f.name));
  const rows: ListRow[] = [];
  for (const file of files) {
    if (!ARCHIVE_RE.test(file.name)) continue;
    let state: ShaState = present.has(`${file.name}.sha256`) ? 'present' : 'missing';
    if (check && state === 'present' && file.sha256 !== undefined) {
      const cat = await rclone(['cat', `${remote}/${fromBytes(file.name)}.sha256`], cloudLimit(s), s.config.RCLONE_FLAGS, s.env);
      const expected = cat.ok ? sidecarHash(`${cat.stdout.toString('latin1').replace(/\n+$/, '')}\n`, file.name) : undefined;
      state = expected === undefined ? 'invalid' : expected === file.sha256.toLowerCase() ? 'ok' : 'mismatch';
    }
    rows.push({ tier: 'cloud', name: file.name, location: `${toBytes(remote)}/${file.name}`, size: file.size, sha256: state,
      metadata: present.has(`${file.name}.metadata`) });
  }
  return { rows };
}

/** resolve_archive's lookup of a bare name in the local tiers (local, then secondary when enabled). */
export function findLocal(name: string, s: TierSettings): string | undefined {
  const dirs = [s.config.LOCAL_BACKUP_PATH, secondaryEnabled(s) ? s.config.SECONDARY_BACKUP_PATH : ''];
  for (const dir of dirs) {
    if (dir !== '' && isFileBytes(`${toBytes(dir)}/${name}`)) return `${toBytes(dir)}/${name}`;
  }
  return undefined;
}

export type CloudFetch =
  | { readonly kind: 'absent' }
  | { readonly kind: 'failed'; readonly message: string; readonly dir?: string }
  | { readonly kind: 'fetched'; readonly archive: string; readonly dir: string };

/**
 * cloud_fetch: the archive and its sidecars into BASE_DIR/restore-safety/download-<ts>-<pid>/ (0700) once its
 * listed size fits there. `absent` when the remote does not list it; the caller removes `dir` on every exit.
 */
export async function cloudFetch(name: string, baseDir: string, now: Date, s: TierSettings): Promise<CloudFetch> {
  const remote = cloudRemote(s);
  const flags = s.config.RCLONE_FLAGS;
  const listed = await rclone(['lsjson', '--files-only', remote, '--include', `${fromBytes(name)}*`], cloudLimit(s), flags, s.env);
  const size = listed.ok ? parseLsjson(listed.stdout.toString('utf8'))?.find((f) => f.name === name)?.size : undefined;
  if (size === undefined) return { kind: 'absent' };
  const parent = `${baseDir}/restore-safety`;
  try {
    mkdirSync(parent, { recursive: true });
    chmodSync(parent, 0o700);
  } catch {
    return { kind: 'failed', message: `Cannot download ${name}: cannot create ${escPath(toBytes(parent))}` };
  }
  let free: number | undefined;
  try {
    const fs = statfsSync(parent);
    free = fs.bavail * fs.bsize;
  } catch {
    free = undefined;
  }
  if (free !== undefined && free < size) return { kind: 'failed', message: `Cannot download ${name}: not enough free space in ${escPath(toBytes(parent))}` };
  const dir = `${parent}/download-${runTimestamp(now)}-${process.pid}`;
  mkdirSync(dir, { mode: 0o700 });
  for (const file of [`${name}.sha256`, `${name}.metadata`]) {
    await rclone(['copyto', `${remote}/${fromBytes(file)}`, `${dir}/${fromBytes(file)}`], cloudLimit(s), flags, s.env);
  }
  const copied = await rclone(['copyto', `${remote}/${fromBytes(name)}`, `${dir}/${fromBytes(name)}`], cloudLimit(s), flags, s.env);
  if (!copied.ok) return { kind: 'failed', message: `Cannot download ${name}: ${rcloneReason(copied.stderr)}`, dir };
  return { kind: 'fetched', archive: `${toBytes(dir)}/${name}`, dir };
}
