// The usage text of a legacy side tool: its header comment from line 2 through the `# Exit codes` line, each
// line without its `# ` (legacy usage(): sed -n '2,/^# Exit codes/{s/^# \{0,1\}//;p}'), so both sides print
// the same help.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function legacyUsage(codeDir: string, tool: string): string {
  const lines = readFileSync(join(codeDir, 'legacy', 'bin', tool), 'utf8').split('\n').slice(1);
  const out: string[] = [];
  for (const line of lines) {
    out.push(line.replace(/^# ?/, ''));
    if (line.startsWith('# Exit codes')) break;
  }
  return `${out.join('\n')}\n`;
}
