// Bad configuration input (issue 14 §5) on both loaders — the exact reason named — and a fuzz of both loaders
// (fast-check, fixed seed) with the rule "an error, or the same values; never execution".
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatResolved, loadConfig } from '../../native/core/config.js';

const helper = join(import.meta.dirname, '..', 'helpers', 'legacy-config-dump');
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/home/op' };

function nativeDump(path: string, baseDir: string): string {
  const config = loadConfig({ configPath: path, baseDir, env: ENV, overrides: new Map() });
  const lines = [...config.errors.map((e) => `E ${e}\n`), ...config.warnings.map((w) => `W ${w}\n`)].join('');
  return (lines + (config.errors.length > 0 ? '' : formatResolved(config, { maskSecrets: false }))).replace(/\n?$/, '\n');
}

async function legacyDump(path: string, baseDir: string): Promise<string> {
  const result = await execa(helper, [path, baseDir], { env: ENV, extendEnv: false, reject: false });
  expect(result.stderr).toBe('');
  return `${result.stdout}\n`;
}

async function both(text: string | Buffer): Promise<{ legacy: string; native: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pbk-config-'));
  const path = join(dir, 'backup.env');
  writeFileSync(path, text, { mode: 0o600 });
  return { legacy: await legacyDump(path, dir), native: nativeDump(path, dir), dir };
}

describe('the real reason, on both sides', () => {
  it.each([
    ['${VAR:-$(…)}', 'CLOUD_BACKUP_PATH=${UNSET_THING:-$(touch PWNED)}\n'],
    ['${VAR:-`…`}', 'CLOUD_BACKUP_PATH="${UNSET_THING:-`touch PWNED`}"\n'],
  ])('%s is command substitution', async (_name, text) => {
    const { legacy, native, dir } = await both(text);
    expect(native).toBe('E backup.env:1: command substitution is not allowed\n');
    expect(legacy).toBe(native);
    expect(existsSync(join(dir, 'PWNED'))).toBe(false);
  });

  it('a file over 1 MiB is "too large", with its size and the file', async () => {
    const { legacy, native, dir } = await both(`# ${'x'.repeat(12 * 1024 * 1024)}\n`);
    expect(native).toBe(`E Configuration file too large: ${join(dir, 'backup.env')} (12582915 bytes; the limit is 1048576)\n`);
    expect(legacy).toBe(native);
  });

  it('a UTF-8 BOM is named as such', async () => {
    const { legacy, native } = await both(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('DEBUG_LEVEL=advanced\n')]));
    expect(native).toBe('E backup.env:1: UTF-8 byte order mark (BOM) at the start of the file; save it without one\n');
    expect(legacy).toBe(native);
  });
});

// Pieces of shell syntax, hostile ones included; a marker file is what any execution would create.
const PIECES = [
  'DEBUG_LEVEL', 'MAX_LOCAL_BACKUPS', 'LOCAL_BACKUP_PATH', 'EMAIL_FROM', 'CUSTOM_BACKUP_PATHS', 'COMPRESSION_TYPE', 'UNKNOWN_KEY',
  '=', '=', '"', "'", '\\', '$', '${', '}', ':-', '$(', ')', '`', '<(', '$((', '#', ' ', '\t', '\n', '\n', ';', '&', '|', '>',
  'export ', 'advanced', 'zstd', '5', '-1', '2Gi', 'true', '/srv/b', '${BASE_DIR}', '$HOME', '${UNSET:-x}', 'é', '\r',
  'touch MARKER', '$(touch MARKER)', '`touch MARKER`', '${X:-$(touch MARKER)}',
];

describe('fuzz: an error, or the same values; never execution (fast-check, seed 14)', () => {
  it('both loaders on 100 generated files', async () => {
    const markers = mkdtempSync(join(tmpdir(), 'pbk-fuzz-'));
    const text = fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 24 }).map((parts) => parts.join(''));
    await fc.assert(fc.asyncProperty(text, async (config) => {
      const { legacy, native, dir } = await both(config.replaceAll('MARKER', `${markers}/MARKER`));
      for (const place of [markers, dir, process.cwd()]) expect(existsSync(join(place, 'MARKER'))).toBe(false);
      expect(legacy.startsWith('E '), `errors differ for ${JSON.stringify(config)}:\n${legacy}---\n${native}`).toBe(native.startsWith('E '));
      if (!native.startsWith('E ')) expect(legacy).toBe(native);
    }), { seed: 14, numRuns: 100 });
  }, 300_000);
});
