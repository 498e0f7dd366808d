// core_version: the tool's version, from the VERSION file both implementations read (archive.md §5.1).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function toolVersion(): string {
  if (cached !== undefined) return cached;
  // dist/native/core/version.js and native/core/version.ts both sit three levels below the repository root.
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []), 'VERSION');
  try {
    cached = readFileSync(file, 'utf8').replace(/\n/g, '');
  } catch {
    cached = 'unknown';
  }
  return cached;
}
