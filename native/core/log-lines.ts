// log_lines (run.md §2): the lines of one level in a run log, `[WARNING] parity: ` diagnostics left out.
import { readFileSync, statfsSync, statSync } from 'node:fs';

export function logLines(level: 'ERROR' | 'WARNING', text: string): string[] {
  const head = new RegExp(`^[0-9-]* [0-9:]* \\[${level}\\] `);
  return text.split('\n').filter((line) => head.test(line) && !line.includes('[WARNING] parity: '));
}

export function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** core_free_bytes: f_bavail × block size of DIR's filesystem, undefined when DIR is not a directory. */
export function freeBytes(dir: string): number | undefined {
  if (dir === '') return undefined;
  try {
    if (!statSync(dir).isDirectory()) return undefined;
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}
