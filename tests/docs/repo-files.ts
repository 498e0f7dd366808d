// The repository's own files, for the checks of tests/docs: what git tracks (plus new files not yet added), or,
// in a copy without .git, every file outside node_modules, dist and the dot-directories.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');

function walk(dir: string, into: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, into);
    else if (entry.isFile()) into.push(relative(REPO, path));
  }
}

/** Repository-relative paths of every file of the repository (tracked or about to be), sorted. */
export function repoFiles(): string[] {
  const git = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' });
  if (git.status === 0) {
    return git.stdout.split('\0').filter((p) => p !== '' && statSync(join(REPO, p), { throwIfNoEntry: false })?.isFile() === true).sort();
  }
  const files: string[] = [];
  walk(REPO, files);
  return files.sort();
}
