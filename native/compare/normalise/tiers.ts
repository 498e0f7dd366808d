// Tier listing normaliser: what an operator sees in each storage directory — names and modes, sorted. Sizes
// are left out (compressed sizes depend on the compressor build); the structured-log twin `*.log.jsonl` that
// only the TypeScript side writes (ARCHITECTURE "Logging") is left out too.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { replaceLiterals, type Replacements } from './tokens.js';

export function listTier(dir: string, replacements: Replacements = []): string {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return '(absent)\n';
  }
  const lines = names.filter((n) => !n.endsWith('.log.jsonl')).sort().map((name) => {
    const stat = lstatSync(join(dir, name));
    const kind = stat.isDirectory() ? 'd' : stat.isSymbolicLink() ? 'l' : stat.isFile() ? 'f' : '?';
    return `${kind} ${(stat.mode & 0o7777).toString(8).padStart(4, '0')} ${replaceLiterals(name, replacements)}\n`;
  });
  return lines.length === 0 ? '(empty)\n' : lines.join('');
}
