import { defineConfig } from 'vitest/config';

// Two projects run side by side, each one file at a time:
//   - `services`: tests on the real Temporal dev server and S3 server (started
//     by scripts/services.sh). One at a time: they share one namespace and one
//     bucket, and the fault tests stop and start the servers.
//   - `pure`: everything that needs no service (pure logic, local files,
//     child processes), so it keeps running while a fault test waits out an outage.
const SERVICE_TESTS = ['test/integration/**/*.test.ts', 'test/faults/**/*.test.ts', 'test/workflows/**/*.test.ts'];
const shared = { testTimeout: 120_000, hookTimeout: 120_000, pool: 'forks' as const };

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      { test: { ...shared, name: 'services', include: SERVICE_TESTS, fileParallelism: false } },
      { test: { ...shared, name: 'pure', include: ['test/**/*.test.ts'], exclude: SERVICE_TESTS, fileParallelism: false } },
    ],
  },
});
