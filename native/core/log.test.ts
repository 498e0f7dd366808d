import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from './exit-code.js';
import { formatTimestamp, RunLog, type DebugLevel } from './log.js';
import { Redactor } from './redact.js';

function makeLog(debugLevel: DebugLevel = 'standard', isTTY = false) {
  const written: string[] = [];
  const exitCode = new ExitCode();
  const log = new RunLog({
    now: () => new Date(2024, 10, 25, 2, 0, 7), debugLevel, disableColours: false, exitCode,
    redactor: new Redactor(['s3cret-token']), console: { write: (t) => written.push(t), isTTY },
  });
  return { log, written, exitCode };
}

describe('RunLog (run.md §5)', () => {
  it('writes the common line format', () => {
    const { log, written } = makeLog();
    log.info('Detected: pve (PVE 8.3.1)');
    expect(written).toEqual(['2024-11-25 02:00:07 [INFO] Detected: pve (PVE 8.3.1)\n']);
    expect(formatTimestamp(new Date(2024, 0, 2, 3, 4, 5))).toBe('2024-01-02 03:04:05');
  });

  it.each([
    { level: 'standard', shown: ['ERROR', 'WARNING', 'INFO', 'STEP', 'SUCCESS', 'SKIP'] },
    { level: 'advanced', shown: ['ERROR', 'WARNING', 'INFO', 'STEP', 'SUCCESS', 'SKIP', 'DEBUG'] },
    { level: 'extreme', shown: ['ERROR', 'WARNING', 'INFO', 'STEP', 'SUCCESS', 'SKIP', 'DEBUG', 'TRACE'] },
  ] as const)('filters by DEBUG_LEVEL=$level', ({ level, shown }) => {
    const { log, written } = makeLog(level);
    for (const l of ['ERROR', 'WARNING', 'INFO', 'STEP', 'SUCCESS', 'SKIP', 'DEBUG', 'TRACE'] as const) log.log(l, 'x');
    expect(written.map((w) => /\[(\w+)\]/.exec(w)?.[1])).toEqual(shown);
  });

  it('escalates the exit code from WARNING and ERROR lines, never down, and ignores parity diagnostics', () => {
    const { log, exitCode } = makeLog('standard');
    log.warning('parity: backup differs');
    expect(exitCode.current).toBe(0);
    log.debug('not shown, no effect');
    log.warning('Cloud upload failed');
    expect(exitCode.current).toBe(1);
    log.error('Backup verification failed');
    log.warning('later warning');
    expect(exitCode.current).toBe(2);
  });

  it('redacts secrets and escapes control characters; colours only on a TTY', () => {
    const plain = makeLog();
    plain.log.info('url https://api/bots3cret-token/send\nnext');
    expect(plain.written[0]).toBe('2024-11-25 02:00:07 [INFO] url https://api/bot***/send\\nnext\n');
    const tty = makeLog('standard', true);
    tty.log.error('boom');
    expect(tty.written[0]).toBe('\x1b[0;31m2024-11-25 02:00:07 [ERROR] boom\x1b[0m\n');
  });

  it('puts earlier lines at the top of the log file (0600) and writes the pino JSON twin', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-log-'));
    const { log } = makeLog();
    log.info('before the file');
    log.attachFile(join(dir, 'run.log'), join(dir, 'run.jsonl'));
    log.warning('after the file', { domain: 'backup', stage: 'backup_collect', impl: 'ts' });
    log.close();
    expect(readFileSync(join(dir, 'run.log'), 'utf8')).toBe(
      '2024-11-25 02:00:07 [INFO] before the file\n2024-11-25 02:00:07 [WARNING] after the file\n');
    expect(statSync(join(dir, 'run.log')).mode & 0o777).toBe(0o600);
    const json = readFileSync(join(dir, 'run.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json.map((j) => [j.lvl, j.msg])).toEqual([['INFO', 'before the file'], ['WARNING', 'after the file']]);
    expect(json[1]).toMatchObject({ domain: 'backup', stage: 'backup_collect', impl: 'ts' });
  });
});
