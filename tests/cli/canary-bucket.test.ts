// The canary bucket (docs/ARCHITECTURE.md "Domains and flags"): the first 32 bits of
// SHA-256("proxmox-backup-canary:<server id>"), mod 100. Pinned with literal values computed with sha256sum and
// shell arithmetic (the same table is checked end to end through `switch-mode status` in
// tests/bats/canary-bucket.bats): changing the formula moves every node to another cohort, so it must fail here.
import { describe, expect, it } from 'vitest';
import { canaryBucket, resolveFlags, type FlagMatrix } from '../../native/switch/flags.js';

const PINNED_BUCKETS = [
  { serverId: '0000000000000000', first32: 'ef6343e2', bucket: 66 },
  { serverId: '1234567890123456', first32: '58489b51', bucket: 61 },
  { serverId: '9876543210987654', first32: '0f003202', bucket: 42 },
  { serverId: '4242424242424242', first32: '0162854d', bucket: 69 },
  { serverId: '0000000000000042', first32: '8851e5aa', bucket: 86 },
] as const;

describe('canary bucket, pinned', () => {
  it.each(PINNED_BUCKETS)('server id $serverId → bucket $bucket (0x$first32 mod 100)', ({ serverId, first32, bucket }) => {
    expect(Number.parseInt(first32, 16) % 100).toBe(bucket);
    expect(canaryBucket(serverId)).toBe(bucket);
  });

  it.each(PINNED_BUCKETS)('a canary of `percent` takes server id $serverId exactly when its bucket ($bucket) is below it', ({ serverId, bucket }) => {
    const matrix = (percent: number): FlagMatrix => ({
      version: 1, defaults: { backup: 'bash' }, canary: { backup: { value: 'ts', percent } }, nodes: {}, fallback: false,
    });
    const backup = (percent: number) => resolveFlags(matrix(percent), { serverId, hostnames: [] }).find((r) => r.domain === 'backup');
    expect(backup(bucket + 1)).toEqual({ domain: 'backup', value: 'ts', rule: `canary ${bucket + 1}% (bucket ${bucket})` });
    expect(backup(bucket)).toEqual({ domain: 'backup', value: 'bash', rule: 'default' });
  });
});
