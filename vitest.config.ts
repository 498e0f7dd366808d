import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['native/**/*.test.ts', 'parity/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['tests/global-setup.ts'],
  },
});
