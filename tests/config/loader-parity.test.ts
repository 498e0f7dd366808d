// Both loaders (native/core/config.ts and legacy/lib/config.sh) on the same files: the same resolved
// values, warnings and errors, line for line (config.md: "must resolve the same value for every key").
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { formatResolved, loadConfig } from '../../native/core/config.js';
import { CONFIG_CASES } from './fixtures.js';

const helper = join(import.meta.dirname, '..', 'helpers', 'legacy-config-dump');

function nativeDump(path: string, baseDir: string, env: Record<string, string>, cli: Record<string, string>): string {
  const config = loadConfig({ configPath: path, baseDir, env, overrides: new Map(Object.entries(cli)) });
  const lines = [...config.errors.map((e) => `E ${e}\n`), ...config.warnings.map((w) => `W ${w}\n`)].join('');
  return lines + (config.errors.length > 0 ? '' : formatResolved(config, { maskSecrets: false }));
}

describe('legacy and native loaders agree', () => {
  it.each(CONFIG_CASES)('$name', async ({ text, env = {}, cli = {} }) => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-config-'));
    const path = join(dir, 'backup.env');
    writeFileSync(path, text, { mode: 0o600 });
    const fullEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env };
    const legacy = await execa(helper, [path, dir, ...Object.entries(cli).map(([k, v]) => `${k}=${v}`)],
      { env: fullEnv, extendEnv: false, reject: false });
    expect(legacy.stderr).toBe('');
    expect(legacy.exitCode).toBe(0);
    expect(legacy.stdout + '\n').toBe(nativeDump(path, dir, fullEnv, cli).replace(/\n?$/, '\n'));
  });
});

describe('env/backup.env.example', () => {
  it('sets every key of the spec, loads cleanly on both sides and says where each value came from', async () => {
    const path = join(import.meta.dirname, '..', '..', 'env', 'backup.env.example');
    const baseDir = mkdtempSync(join(tmpdir(), 'pbk-example-'));
    const config = loadConfig({ configPath: path, baseDir, env: { PATH: process.env.PATH ?? '' } });
    expect(config.errors).toEqual([]);
    expect(config.warnings).toEqual([]);
    const fromDefaults = [...config.origins].filter(([, origin]) => origin.kind !== 'file').map(([key]) => key);
    expect(fromDefaults).toEqual([]);
    const legacy = await execa(helper, [path, baseDir], { env: { PATH: process.env.PATH ?? '' }, extendEnv: false });
    expect(legacy.stdout + '\n').toBe(nativeDump(path, baseDir, { PATH: process.env.PATH ?? '' }, {}));
  });
});
