/**
 * The GitHub Actions workflows of the repository: actionlint (built with
 * `go install` by scripts/actionlint.sh, the first time) finds nothing in any
 * of them, and it does find a broken one, so the check can fail. The retrain
 * workflow runs on what a user expects: specs, data manifests and code.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempFiles } from '../helpers/temp-files';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const { write } = tempFiles('perennial-actionlint-');

async function actionlint(...files: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run('bash', ['scripts/actionlint.sh', ...files], { cwd: ROOT });
    return { code: 0, output: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: `${e.stdout}${e.stderr}` };
  }
}

const workflows = readdirSync(`${ROOT}.github/workflows`).filter((f) => /\.ya?ml$/.test(f));

describe('GitHub Actions workflows', { timeout: 600_000 }, () => {
  it('there is a retrain workflow, and actionlint passes every workflow file', async () => {
    expect(workflows).toContain('retrain.yml');
    const result = await actionlint(...workflows.map((f) => `.github/workflows/${f}`));
    expect(result, result.output).toEqual({ code: 0, output: '' });
  });

  it('actionlint fails on a broken workflow, naming the file, line and problem', async () => {
    const broken = write(
      'broken.yml',
      ['on: push', 'jobs:', '  test:', '    runs-on: ubuntu-latest', '    steps:', '      - run: echo "${{ github.no_such_thing }}"', ''].join('\n'),
    );
    const result = await actionlint(broken);
    expect(result.code).toBe(1);
    // actionlint names the file relative to the working directory.
    expect(result.output).toMatch(/perennial-actionlint-[^/]+\/\d+\/broken\.yml:6:24: property "no_such_thing" is not defined/);
  });

  it('retrains on a change to a spec, a data manifest or the code, after the tests, through scripts/ci-retrain.sh with the commit', () => {
    const workflow = parse(readFileSync(`${ROOT}.github/workflows/retrain.yml`, 'utf8')) as {
      on: { push: { paths: string[] }; pull_request: { paths: string[] } };
      jobs: { test: { steps: { run?: string }[] }; retrain: { needs: string; steps: { run?: string }[] } };
    };
    for (const trigger of [workflow.on.push, workflow.on.pull_request]) {
      expect(trigger.paths).toEqual(expect.arrayContaining(['models/**', 'data/**', 'src/**', 'activities/**', 'workflows/**']));
    }
    expect(workflow.jobs.test.steps.map((s) => s.run).filter(Boolean)).toEqual(['npm ci', 'npm test']);
    expect(workflow.jobs.retrain.needs).toBe('test');
    expect(workflow.jobs.retrain.steps.some((s) => s.run?.includes('scripts/ci-retrain.sh "$GITHUB_SHA"'))).toBe(true);
  });
});
