// Both loggers (legacy/lib/log.sh and native/core/log.ts) on the same messages: the same lines after
// the timestamp, the same redaction and escaping, the same exit code (run.md §5, security.md §8).
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../native/core/exit-code.js';
import { RunLog, type DebugLevel, type Level } from '../../native/core/log.js';
import { Redactor } from '../../native/core/redact.js';

const helper = join(import.meta.dirname, '..', 'helpers', 'legacy-log-lines');
const SECRET = 'tok:en/with spaces&more';
const MESSAGES: ReadonlyArray<readonly [Level, string]> = [
  ['INFO', 'Detected: pve (PVE 8.3.1)'],
  ['STEP', 'Collecting configuration files'],
  ['WARNING', 'parity: backup differs (never raises the code)'],
  ['DEBUG', 'Command not available: zfs (skipping ZFS information)'],
  ['TRACE', 'trace detail'],
  ['INFO', `raw secret ${SECRET} and encoded ${encodeURIComponent(SECRET)}`],
  ['WARNING', 'tab\there and newline\nthere and bell\u0007'],
  ['SKIP', 'Crontab backup disabled'],
  ['SUCCESS', 'Größe ✅ unicode kept'],
  ['ERROR', 'Backup verification failed'],
];

async function legacyLines(level: DebugLevel): Promise<string[]> {
  const input = MESSAGES.map(([l, m]) => `${l}\t${m.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('\t', '\\t').replaceAll('\u0007', '\\a')}`).join('\n');
  const result = await execa(helper, [level, SECRET], { input: `${input}\n` });
  return result.stdout.split('\n');
}

function nativeLines(level: DebugLevel): string[] {
  const out: string[] = [];
  const exitCode = new ExitCode();
  const log = new RunLog({ now: () => new Date(), debugLevel: level, disableColours: true, exitCode,
    redactor: new Redactor([SECRET]), console: { write: (t) => out.push(t.replace(/\n$/, '')), isTTY: false } });
  for (const [l, m] of MESSAGES) log.log(l, m);
  return [...out, `exit=${exitCode.current}`];
}

const strip = (lines: string[]): string[] => lines.map((l) => l.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, '<TS> '));

describe('legacy and native loggers agree', () => {
  it.each(['standard', 'advanced', 'extreme'] as const)('at DEBUG_LEVEL=%s', async (level) => {
    const legacy = strip(await legacyLines(level));
    expect(legacy).toEqual(strip(nativeLines(level)));
    expect(legacy.join('\n')).not.toContain('tok:en');
    expect(legacy.at(-1)).toBe('exit=2');
  });
});
