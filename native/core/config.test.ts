import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from './config-keys.js';
import { formatResolved, loadConfig } from './config.js';

function load(text: string | Buffer, env: Record<string, string> = {}, overrides: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pbk-cfg-'));
  const configPath = join(dir, 'backup.env');
  writeFileSync(configPath, text);
  return loadConfig({ configPath, baseDir: dir, env, overrides: new Map(Object.entries(overrides)) });
}

describe('loadConfig', () => {
  it('knows every key of the spec: 106 upstream + 9 read by upstream code + 24 new (BACKUP_STORAGE_STACK, HEALTHCHECK_URL this wave)', () => {
    expect(CONFIG_KEYS).toHaveLength(139);
    expect(new Set(CONFIG_KEYS.map((k) => k.name)).size).toBe(139);
  });

  it('gives every key its default on an empty file, with one warning', () => {
    const config = load('');
    expect(config.errors).toEqual([]);
    expect(config.warnings).toEqual([expect.stringMatching(/^Configuration file is empty: /)]);
    expect(config.values.get('MAX_LOCAL_BACKUPS')).toBe('20');
    expect(config.values.get('LOCAL_BACKUP_PATH')).toBe(join(config.configPath, '..', 'backup'));
    expect(config.values.get('MAX_PXAR_SIZE')).toBe(String(50 * 1024 * 1024));
    expect(config.values.get('BACKUP_BLACKLIST')?.split('\n')).toHaveLength(12);
  });

  it('names key, value and line of a wrong type', () => {
    expect(load('\nMAX_LOCAL_BACKUPS=abc\n').errors)
      .toEqual(["Invalid value for MAX_LOCAL_BACKUPS: 'abc' (expected int) at backup.env:2"]);
  });

  it('reports every wrong key at once, in table order', () => {
    expect(load('MAX_CLOUD_LOGS=x\nDEBUG_LEVEL=loud\n').errors).toEqual([
      "Invalid value for DEBUG_LEVEL: 'loud' (expected one of standard|advanced|extreme) at backup.env:2",
      "Invalid value for MAX_CLOUD_LOGS: 'x' (expected int) at backup.env:1",
    ]);
  });

  it('warns about unknown keys but keeps them', () => {
    const config = load('MY_OWN=1\n');
    expect(config.warnings).toEqual(['Unknown configuration key MY_OWN (backup.env:1)']);
    expect(config.errors).toEqual([]);
    expect(formatResolved(config, { maskSecrets: false })).toContain("MY_OWN='1'\n");
  });

  it('layers defaults < file < environment < command line', () => {
    const config = load('MAX_LOCAL_BACKUPS=5\nMAX_LOCAL_LOGS=6\nDEBUG_LEVEL=standard\n',
      { MAX_LOCAL_LOGS: '7', DEBUG_LEVEL: 'advanced' }, { DEBUG_LEVEL: 'extreme' });
    expect(config.values.get('MAX_CLOUD_LOGS')).toBe('20');
    expect(config.values.get('MAX_LOCAL_BACKUPS')).toBe('5');
    expect(config.values.get('MAX_LOCAL_LOGS')).toBe('7');
    expect(config.values.get('DEBUG_LEVEL')).toBe('extreme');
    expect(config.origins.get('MAX_LOCAL_LOGS')).toEqual({ kind: 'environment' });
  });

  it('says (environment) for a bad value from the environment', () => {
    expect(load('', { SMTP_PORT: 'x' }).errors).toEqual(["Invalid value for SMTP_PORT: 'x' (expected int 1..65535) (environment)"]);
  });

  it('masks secrets in messages and dumps', () => {
    const config = load('TELEGRAM_BOT_TOKEN=123456:SECRET\nSMTP_PASSWORD=hunter22\n');
    const dump = formatResolved(config, { maskSecrets: true });
    expect(dump).toContain('TELEGRAM_BOT_TOKEN=***\n');
    expect(dump).toContain('SMTP_PASSWORD=***\n');
    expect(dump).not.toContain('SECRET');
  });

  it('refuses a directory, a FIFO-like path and a missing file by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-cfg-'));
    mkdirSync(join(dir, 'd'));
    const base = { baseDir: dir, env: {} };
    expect(loadConfig({ ...base, configPath: join(dir, 'd') }).errors).toEqual([`Configuration file not readable: ${join(dir, 'd')}`]);
    expect(loadConfig({ ...base, configPath: join(dir, 'nope') }).errors).toEqual([`Configuration file not found: ${join(dir, 'nope')}`]);
  });

  it('refuses an unreadable file (when not root)', () => {
    if (process.getuid?.() === 0) return;
    const dir = mkdtempSync(join(tmpdir(), 'pbk-cfg-'));
    writeFileSync(join(dir, 'b.env'), 'A=1\n');
    chmodSync(join(dir, 'b.env'), 0);
    expect(loadConfig({ configPath: join(dir, 'b.env'), baseDir: dir, env: {} }).errors)
      .toEqual([`Configuration file not readable: ${join(dir, 'b.env')}`]);
  });

  it('names the line of a NUL byte or invalid UTF-8', () => {
    expect(load(Buffer.from('A=1\nB=\0\n')).errors).toEqual(['backup.env:2: invalid character']);
    expect(load(Buffer.from([0x41, 0x3d, 0xc3, 0x28, 0x0a])).errors).toEqual(['backup.env:1: invalid character']);
  });

  it('turns tiers off with a warning when their keys are missing', () => {
    const config = load('ENABLE_SECONDARY_BACKUP=true\nENABLE_CLOUD_BACKUP=true\nRCLONE_REMOTE=-x\n');
    expect(config.values.get('ENABLE_SECONDARY_BACKUP')).toBe('false');
    expect(config.values.get('ENABLE_CLOUD_BACKUP')).toBe('false');
    expect(config.warnings).toEqual([
      'Secondary backup enabled but SECONDARY_BACKUP_PATH or SECONDARY_LOG_PATH is empty; secondary tier disabled',
      "Invalid RCLONE_REMOTE '-x'; cloud tier disabled",
    ]);
  });

  it('checks COMPRESSION_LEVEL against the chosen type and mode', () => {
    expect(load('COMPRESSION_TYPE=gzip\nCOMPRESSION_LEVEL=10\n').errors)
      .toEqual(["Invalid value for COMPRESSION_LEVEL: '10' (expected int 1..9) at backup.env:2"]);
    expect(load('COMPRESSION_TYPE=zstd\nCOMPRESSION_MODE=standard\nCOMPRESSION_LEVEL=19\n').errors).toEqual([]);
  });
});
