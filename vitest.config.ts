import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Names the tests skipped for a missing Debian tool (kcat, socat, ...); fails the run in CI.
    globalSetup: ['test/support/global-setup.ts'],
  },
});
