import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['native/**/*.test.ts', 'parity/**/*.test.ts', 'tests/**/*.test.ts'],
    // A timeout detects a hang, never speed: several tests run two or three whole legacy backups, which take a
    // minute together on a loaded 2-core machine.
    testTimeout: 240_000,
    hookTimeout: 240_000,
    pool: 'forks',
    globalSetup: ['tests/global-setup.ts'],
  },
});
