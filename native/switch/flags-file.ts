// flags.json on disk: read (a broken or symlinked file means all-bash, with the reason) and the atomic
// rewrite of --target/set (temp file + rename, previous content kept as flags.json.prev).
import { lstatSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { ALL_BASH, formatFlags, parseFlags, type FlagMatrix } from './flags.js';

export const FLAGS_MODE = 0o640;   // security.md §7.2

export type LoadedFlags =
  | { readonly ok: true; readonly matrix: FlagMatrix }
  | { readonly ok: false; readonly matrix: FlagMatrix; readonly reason: string; readonly missing: boolean };

export function readFlagsFile(path: string): LoadedFlags {
  let isSymlink = false;
  try {
    isSymlink = lstatSync(path).isSymbolicLink();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { ok: false, matrix: ALL_BASH, reason: 'file not found', missing: true };
    }
    return { ok: false, matrix: ALL_BASH, reason: (error as Error).message, missing: false };
  }
  if (isSymlink) return { ok: false, matrix: ALL_BASH, reason: 'is a symlink', missing: false };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, matrix: ALL_BASH, reason: (error as Error).message, missing: false };
  }
  const parsed = parseFlags(text);
  return parsed.ok ? { ok: true, matrix: parsed.matrix }
    : { ok: false, matrix: ALL_BASH, reason: parsed.reason, missing: false };
}

/** Writes the new matrix atomically; the bytes it replaces (valid or not) become flags.json.prev. */
export async function writeFlagsFile(path: string, matrix: FlagMatrix): Promise<void> {
  let previous: Buffer | undefined;
  try {
    if (!lstatSync(path).isSymbolicLink()) previous = readFileSync(path);
  } catch {
    previous = undefined;
  }
  if (previous !== undefined) await writeFileAtomic(`${path}.prev`, previous, { mode: FLAGS_MODE });
  await writeFileAtomic(path, formatFlags(matrix), { mode: FLAGS_MODE });
}

/**
 * T5 (security.md §3.3): a flags.json written by `set` / `--target` is a sanctioned change, so its line in an
 * existing integrity manifest (BASE_DIR/config/integrity.sha256) is updated in the same step (temp 0600 +
 * rename). False when there is no manifest (a regular file) to update.
 */
export function updateManifestForFlags(flagsPath: string): boolean {
  const base = dirname(flagsPath);
  const manifest = join(base, 'config', 'integrity.sha256');
  try {
    if (!lstatSync(manifest).isFile()) return false;
  } catch {
    return false;
  }
  const entry = `${createHash('sha256').update(readFileSync(flagsPath)).digest('hex')}  flags.json`;
  const lines = readFileSync(manifest, 'utf8').split('\n').filter((l) => l !== '' && !/^[0-9a-f]{64} {2}flags\.json$/.test(l));
  lines.push(entry);
  lines.sort((a, b) => Buffer.compare(Buffer.from(a.slice(66)), Buffer.from(b.slice(66))));
  const tmp = `${manifest}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, `${lines.join('\n')}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, manifest);
  return true;
}
