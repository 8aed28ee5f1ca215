import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Three projects, each one file at a time:
//   - `services`: tests on the real Temporal dev server and S3 server (started
//     by scripts/services.sh). One file at a time per run; `npm test` runs two
//     shards side by side: every file has its own models, task queues and
//     workflow ids in the shared namespace and bucket.
//   - `outages`: the tests that stop and start the servers (an S3 outage, a
//     Temporal outage, a restart). They get a Temporal and an S3 of their own,
//     on other ports and another data directory (test/outage-services.ts starts
//     them with the same script), so they can run beside the others.
//   - `pure`: everything that needs no service (pure logic, local files,
//     child processes).
// Vitest runs the projects of one run with one worker count, so `npm test`
// (scripts/test.sh) starts one run per project, side by side: the minutes the
// outage tests spend waiting overlap the other tests instead of adding to them.
const OUTAGE_TESTS = ['test/faults/s3-outage.test.ts', 'test/faults/temporal-outage.test.ts', 'test/integration/services.test.ts'];
const SERVICE_TESTS = ['test/integration/**/*.test.ts', 'test/faults/**/*.test.ts', 'test/workflows/**/*.test.ts'];
const shared = { testTimeout: 120_000, hookTimeout: 120_000, pool: 'forks' as const };

/** The outage tests' own services: every setting scripts/services.sh and src/config.ts read. */
export const OUTAGE_SERVICES: Record<string, string> = {
  TEMPORAL_ADDRESS: '127.0.0.1:7234',
  TEMPORAL_UI_PORT: '8234',
  TEMPORAL_HTTP_PORT: '7244',
  S3_ENDPOINT: 'http://127.0.0.1:7071',
  PERENNIAL_DATA: fileURLToPath(new URL('.data/outages', import.meta.url)),
  // The script's defaults, which src/config.ts applies only to the default endpoint.
  AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'perennial',
  AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'perennial-secret',
  // Not someone else's servers: the script starts and stops them.
  PERENNIAL_TEMPORAL_EXTERNAL: '0',
  PERENNIAL_S3_EXTERNAL: '0',
};

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      { test: { ...shared, name: 'services', include: SERVICE_TESTS, exclude: OUTAGE_TESTS, fileParallelism: false } },
      {
        test: {
          ...shared,
          name: 'outages',
          include: OUTAGE_TESTS,
          fileParallelism: false,
          env: OUTAGE_SERVICES,
          globalSetup: ['test/outage-services.ts'],
        },
      },
      { test: { ...shared, name: 'pure', include: ['test/**/*.test.ts'], exclude: SERVICE_TESTS, fileParallelism: false } },
    ],
  },
});
