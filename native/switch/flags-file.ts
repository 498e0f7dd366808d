// flags.json on disk: read (a broken or symlinked file means all-bash, with the reason) and the atomic
// rewrite of --target/set (temp file + rename, previous content kept as flags.json.prev).
import { lstatSync, readFileSync } from 'node:fs';
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
