import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ConfigValues } from './config-keys.js';
import { loadConfig } from './config.js';
import { stageView, typedConfig, typedFacts } from './config-view.js';
import { RunDir } from './run-dir.js';

function loaded(text: string): ConfigValues {
  const dir = mkdtempSync(join(tmpdir(), 'pbk-view-'));
  writeFileSync(join(dir, 'backup.env'), text);
  const config = loadConfig({ configPath: join(dir, 'backup.env'), baseDir: '/opt/pbk', env: {} });
  expect(config.errors).toEqual([]);
  return typedConfig(config.values);
}

function runDir(context: Record<string, string>, state: Record<string, string> = {}): RunDir {
  const dir = RunDir.create(mkdtempSync(join(tmpdir(), 'pbk-view-')));
  dir.writeContext(Object.entries(context));
  for (const [key, value] of Object.entries(state)) dir.setState(key, value);
  return dir;
}

describe('the typed configuration of a stage', () => {
  it('types the defaults the loader wrote: bool, int, size, list, csv, enum, path', () => {
    const config = loaded('');
    expect(config.PROMETHEUS_ENABLED).toBe(true);
    expect(config.ENCRYPT_ARCHIVE).toBe(false);
    expect(config.MAX_LOCAL_BACKUPS).toBe(20);
    expect(config.MAX_PXAR_SIZE).toBe(52428800);
    expect(config.PXAR_INCLUDE_PATTERN).toEqual(['vm/100', 'vm/101']);
    expect(config.PVE_BACKUP_INCLUDE_PATTERN).toEqual([]);
    expect(config.BACKUP_BLACKLIST).toHaveLength(12);
    expect(config.BACKUP_BLACKLIST[10]).toBe('/opt/pbk/log/');
    expect(config.COMPRESSION_TYPE).toBe('xz');
    expect(config.LOCAL_BACKUP_PATH).toBe('/opt/pbk/backup');
  });

  it('reads a bool false, a size with a unit and a list as the file gives them', () => {
    const config = loaded('PROMETHEUS_ENABLED=no\nMAX_PVE_BACKUP_SIZE=2G\nAGE_RECIPIENTS="age1a\n# skip\nage1b"\n');
    expect(config.PROMETHEUS_ENABLED).toBe(false);
    expect(config.MAX_PVE_BACKUP_SIZE).toBe(2147483648);
    expect(config.AGE_RECIPIENTS).toEqual(['age1a', 'age1b']);
  });

  it('has the type of each key\'s kind, and a name outside the table does not compile', () => {
    const config = typedConfig(new Map());
    expectTypeOf(config.ENCRYPT_ARCHIVE).toEqualTypeOf<boolean>();
    expectTypeOf(config.MAX_PXAR_SIZE).toEqualTypeOf<number>();
    expectTypeOf(config.CUSTOM_BACKUP_PATHS).toEqualTypeOf<readonly string[]>();
    expectTypeOf(config.RCLONE_REMOTE).toEqualTypeOf<string>();
    // @ts-expect-error ENCRYPT_ARCHIVES is no configuration key
    expect(config.ENCRYPT_ARCHIVES).toBeUndefined();
    // @ts-expect-error a bool is no string: comparing it with 'true' does not compile
    expect(config.ENCRYPT_ARCHIVE === 'true').toBe(false);
    expect(Object.isFrozen(config) && Object.isFrozen(config.AGE_RECIPIENTS)).toBe(true);
  });

  it('reads a key missing from the run directory as its empty text typed (false, 0, [], \'\')', () => {
    const config = typedConfig(new Map([['BACKUP_CRONTABS', 'true']]));
    expect([config.BACKUP_CRONTABS, config.BACKUP_ZFS_CONFIG, config.MAX_LOCAL_BACKUPS]).toEqual([true, false, 0]);
    expect([config.CUSTOM_BACKUP_PATHS, config.RCLONE_REMOTE]).toEqual([[], '']);
  });

  it('types the run facts: DRY_RUN and CHECK_ONLY flags, the others text', () => {
    const facts = typedFacts(new Map([['DRY_RUN', 'true'], ['CHECK_ONLY', 'false'], ['START_TIME', '1700000000']]));
    expect([facts.DRY_RUN, facts.CHECK_ONLY, facts.START_TIME, facts.HOSTNAME]).toEqual([true, false, '1700000000', '']);
    expectTypeOf(facts.DRY_RUN).toEqualTypeOf<boolean>();
    // @ts-expect-error DRY_RUNS is no run fact
    expect(facts.DRY_RUNS).toBeUndefined();
  });
});

describe('stageView: context.env, then state.env on top, as a shim sources them', () => {
  it('takes a fact backup_detect rewrote from state.env, and a value from state.env over context.env', () => {
    const view = stageView(runDir({ HOSTNAME: 'context-host', COMPRESSION_TYPE: 'xz', DRY_RUN: 'false' },
      { HOSTNAME: 'pve1', COMPRESSION_TYPE: 'zstd' }));
    expect([view.facts.HOSTNAME, view.config.COMPRESSION_TYPE, view.facts.DRY_RUN]).toEqual(['pve1', 'zstd', false]);
  });

  it('reads state keys as text and sees its own writes, which land in state.env', () => {
    const dir = runDir({}, { STATUS_VERIFY: '0' });
    const view = stageView(dir);
    expect([view.state.get('STATUS_VERIFY'), view.state.has('BACKUP_FILE'), view.state.get('BACKUP_FILE')]).toEqual(['0', false, '']);
    view.state.set('BACKUP_FILE', '/b/x.tar');
    expect(view.state.get('BACKUP_FILE')).toBe('/b/x.tar');
    expect(dir.readState().get('BACKUP_FILE')).toBe('/b/x.tar');
  });
});
