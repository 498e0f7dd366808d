// A copy of the installed code with one file patched: how a test injects a difference into path B.
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../legacy/run.js';

/** A copy of the installed code (bin, legacy, shims, dist, VERSION) with one file patched. */
export function patchedCode(file: string, from: string, to: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pbk-code-'));
  for (const part of ['bin', 'legacy', 'shims', 'dist', 'VERSION']) {
    cpSync(join(REPO, part), join(dir, part), { recursive: true, verbatimSymlinks: true });
  }
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  const path = join(dir, file);
  const text = readFileSync(path, 'utf8');
  if (!text.includes(from)) throw new Error(`${file} does not contain ${from}`);
  writeFileSync(path, text.replace(from, to));
  return dir;
}
