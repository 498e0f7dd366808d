import { describe, expect, it } from 'vitest';
import type { LoadedConfig } from '../core/config.js';
import { RUN_FACTS, type DomainName } from '../core/stage.js';
import { contextEntries, migrationKeys } from './run-keys.js';
import type { Implementation } from './stages.js';

const stage = async (): Promise<0> => 0;

describe('migrationKeys (metrics.md §2 #25-28)', () => {
  it('native for the orchestrator, and for a domain on ts with a native stage; SHADOW_ for each domain in shadow', () => {
    const flags: Partial<Record<DomainName, Implementation>> = { backup: 'ts', storage: 'ts', notify: 'shadow', metrics: 'ts' };
    const keys = migrationKeys((domain) => flags[domain] ?? 'bash', { backup_detect: stage, notify_run: stage, metrics_write: stage });
    expect(keys).toEqual([
      ['IMPL_CLI', 'legacy'], ['IMPL_ORCHESTRATOR', 'native'], ['IMPL_SECURITY', 'legacy'], ['IMPL_BACKUP', 'native'],
      ['IMPL_STORAGE', 'legacy'], ['IMPL_NOTIFY', 'legacy'], ['IMPL_METRICS', 'native'], ['SHADOW_NOTIFY', '1'],
    ]);
  });
});

describe('contextEntries (context.env)', () => {
  it('the configuration keys, the unknown ones after them, then the run facts in RUN_FACTS order', () => {
    const config = { values: new Map([['LOCAL_BACKUP_PATH', '/b'], ['MY_KEY', 'x']]), unknownKeys: ['MY_KEY'] } as unknown as LoadedConfig;
    const entries = contextEntries(config, new Map([['HOSTNAME', 'h'], ['RUN_DIR', '/tmp/r']]));
    expect(entries.find(([key]) => key === 'LOCAL_BACKUP_PATH')).toEqual(['LOCAL_BACKUP_PATH', '/b']);
    const tail = entries.slice(-(RUN_FACTS.length + 1));
    expect(tail[0]).toEqual(['MY_KEY', 'x']);
    expect(tail.slice(1).map(([key]) => key)).toEqual([...RUN_FACTS]);
    expect(tail.slice(1).filter(([, value]) => value !== '')).toEqual([['HOSTNAME', 'h'], ['RUN_DIR', '/tmp/r']]);
  });
});
