import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCapturedCli } from '../support/cli.ts';
import { eventually, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { call, publishSimFirmware } from '../support/rollouts.ts';

/** The CLI's output for people and for scripts (--json), against the local platform. */
describe('fleetkit CLI output', () => {
  let t: TestPlatform;

  const cli = (...argv: string[]) =>
    runCapturedCli(argv, {
      env: { FLEETKIT_API: t.platform.gatewayUrl, FLEETKIT_DATA_DIR: t.platform.dataDir },
      stdin: async () =>
        JSON.stringify({
          firmwareVersion: '1.2.0',
          targets: { percentage: 100 },
          waves: { sizes: [50, 100] },
        }),
    });

  beforeAll(async () => {
    t = await startTestPlatform({ devices: 2, statusEveryMs: 500 });
    await eventually(async () => {
      const { body } = await call(t.platform, 'GET', '/devices');
      return body.devices?.length === 2 ? true : undefined;
    }, 20_000);
    await publishSimFirmware(t.platform, { fleetkitSimFirmware: 1, version: '1.2.0' });
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
  });

  it('prints lists as tables for people, and the API JSON with --json', async () => {
    const people = await cli('devices', 'list');
    const script = await cli('devices', 'list', '--json');
    expect(people.out.split('\n')[0]).toMatch(/^device\s+type\s+firmware\s+state/);
    expect(people.out).toMatch(/sim-0001\s+tracker\s+1\.0\.0\s+online/);
    expect(JSON.parse(script.out).devices).toHaveLength(2);
  });

  it('previews a rollout plan from stdin without creating it', async () => {
    const preview = await cli('rollout', 'preview', '-');
    const list = await call(t.platform, 'GET', '/rollouts');
    expect(preview.code).toBe(0);
    expect(preview.out).toContain('2 targeted, 2 eligible');
    expect(preview.out).toMatch(/wave\s+devices\n-+\s+-+\n0\s+1\n1\s+1\n/);
    expect(list.body.rollouts).toEqual([]);
  });

  it('prints a console sign-in link that works once', async () => {
    const result = await cli('console');
    const link = /(http:\/\/\S+#login=\S+)/.exec(result.out)?.[1] ?? '';
    const token = new URL(link).hash.replace('#login=', '');
    const spend = () =>
      fetch(`${t.platform.consoleBase}/console/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      });
    expect((await spend()).status).toBe(200);
    expect((await spend()).status).toBe(401);
  });

  it('says what to do next when the API refuses, in JSON with --json', async () => {
    const people = await cli('rollout', 'status', 'nope');
    const script = await cli('--json', 'rollout', 'status', 'nope');
    expect(people.code).toBe(1);
    expect(people.err).toBe('NotFound: no rollout nope\nnext: list the rollouts with: rollout list\n');
    expect(JSON.parse(script.err)).toEqual({
      error: {
        code: 'NotFound',
        message: 'no rollout nope',
        status: 404,
        hint: 'list the rollouts with: rollout list',
      },
    });
    expect(script.out).toBe('');
  });
});
