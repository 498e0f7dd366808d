// The install step's integrity manifest for a sandbox BASE_DIR (security.md §3.1-§3.2): what
// `security-check --update-hashes` records, written where a run's gate expects it, so that a sandbox (parity
// harness, tests, demo) starts like a correctly installed node and its first run is not a "manifest not found"
// warning. Covered: the code roots (when present) and VERSION, flags.json, package.json, package-lock.json,
// env/backup.env; regular files only; sorted bytewise; 0600 in config/ (0700).
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOTS = ['bin', 'legacy', 'shims', 'native', 'dist'];
const FILES = ['VERSION', 'flags.json', 'package.json', 'package-lock.json', 'env/backup.env'];

function kind(path: string): 'file' | 'dir' | 'other' | undefined {
  try {
    const stat = lstatSync(path);
    return stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : 'other';
  } catch {
    return undefined;
  }
}

function walk(base: string, rel: string, out: string[]): void {
  for (const name of readdirSync(join(base, rel))) {
    const child = `${rel}/${name}`;
    const type = kind(join(base, child));
    if (type === 'dir' && name !== 'node_modules') walk(base, child, out);
    else if (type === 'file') out.push(child);
  }
}

export function writeIntegrityManifest(baseDir: string): void {
  const files: string[] = [];
  for (const root of ROOTS) if (kind(join(baseDir, root)) === 'dir') walk(baseDir, root, files);
  for (const file of FILES) if (kind(join(baseDir, file)) === 'file') files.push(file);
  files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const text = files.map((rel) => `${createHash('sha256').update(readFileSync(join(baseDir, rel))).digest('hex')}  ${rel}\n`).join('');
  const dir = join(baseDir, 'config');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const target = join(dir, 'integrity.sha256');
  writeFileSync(`${target}.tmp`, text, { mode: 0o600 });
  renameSync(`${target}.tmp`, target);
}
