import { defineConfig } from 'vitest/config';

// Unit tests (pure logic) and integration tests (real Temporal dev server and
// real S3 server, started by scripts/services.sh) run in one pass. Integration
// files run one at a time: they share one Temporal namespace and one bucket.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    pool: 'forks',
    reporters: ['default'],
  },
});
