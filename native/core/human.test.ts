import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { formatDuration, humanSize, runTimestamp } from './human.js';

const LIB = join(import.meta.dirname, '..', '..', 'legacy', 'lib');

describe('humanSize', () => {
  it('prints binary units with one decimal', () => {
    expect(humanSize(0)).toBe('0 B');
    expect(humanSize(1023)).toBe('1023 B');
    expect(humanSize(1024)).toBe('1.0 KiB');
    expect(humanSize(13_900)).toBe('13.6 KiB');
    expect(humanSize(5 * 1024 ** 3)).toBe('5.0 GiB');
    expect(humanSize(3 * 1024 ** 5)).toBe('3072.0 TiB');
  });

  it('agrees with the legacy core_human_size byte for byte, ties included', async () => {
    const values = [1024, 1075, 1126, 1280, 1331, 1434, 1536, 13_900, 1_048_576, 1_100_000, 2_621_440, 123_456_789, 10 ** 12, 2 ** 53];
    const script = `source "${LIB}/core.sh"; for v in ${values.join(' ')}; do core_human_size "$v"; printf '\\n'; done`;
    const bash = await execa('bash', ['-c', script]);
    expect(bash.stdout.split('\n')).toEqual(values.map(humanSize));
  });
});

describe('formatDuration and runTimestamp', () => {
  it('format as the legacy side does', () => {
    expect(formatDuration(0)).toBe('00:00:00');
    expect(formatDuration(3725)).toBe('01:02:05');
    expect(formatDuration(100 * 3600)).toBe('100:00:00');
    process.env.TZ = 'UTC';
    expect(runTimestamp(new Date(1732500000 * 1000))).toBe('2024-11-25_02-00-00');
  });
});
