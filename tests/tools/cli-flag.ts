// The side-tool tests' one way to pick an implementation: the `cli` default of a flags.json copy (tests only).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes TO/flags.json: FROM/flags.json (default TO's own) with `defaults.cli` set to VALUE. */
export function setCliFlag(to: string, value: 'bash' | 'ts', from = to): void {
  const flags = JSON.parse(readFileSync(join(from, 'flags.json'), 'utf8')) as { defaults: Record<string, string> };
  flags.defaults.cli = value;
  writeFileSync(join(to, 'flags.json'), `${JSON.stringify(flags, null, 2)}\n`);
}
