import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['native/**/*.test.ts', 'parity/**/*.test.ts', 'tests/**/*.test.ts'],
    // A timeout detects a hang, never speed: several tests run two or three whole legacy backups, which take a
    // minute together on a loaded 2-core machine.
    testTimeout: 240_000,
    hookTimeout: 240_000,
    pool: 'forks',
    // Two files at a time, also on a 2-core machine (vitest's default there is one): most tests wait on child
    // processes, sleeps between retries, sinks and timeouts, and the second worker fills those gaps.
    maxWorkers: 2,
    minWorkers: 1,
    globalSetup: ['tests/global-setup.ts'],
  },
});
