import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROTATION_RATE_PER_MINUTE } from '../../../lib/cli/devices.ts';
import { MIN_SAMPLE_INTERVAL_SECONDS } from '../../../lib/protocol/coap.ts';
import type { CommandAnswer, CommandRequest } from '../../../lib/protocol/commands.ts';
import { runCliOn } from '../../support/cli.ts';
import { type HandDevice, handDevice } from '../../support/commands.ts';
import { startTestPlatform, type TestPlatform } from '../../support/platform.ts';

/** `npm run cli -- command ...` against the local platform, devices driven by hand over MQTT. */
describe('fleetkit CLI: command', () => {
  let t: TestPlatform;
  const devices: HandDevice[] = [];

  const succeed = (request: CommandRequest): CommandAnswer => ({
    executionId: request.executionId,
    status: 'SUCCEEDED',
    result: { echo: request.parameters },
  });

  const cli = (...argv: string[]) => runCliOn(t.platform, argv);

  beforeAll(async () => {
    t = await startTestPlatform();
    for (const name of ['cli-a', 'cli-b']) {
      const device = await handDevice(t.platform, name, 'tracker', { autoAnswer: succeed });
      await device.status();
      devices.push(device);
    }
  }, 60_000);
  afterAll(async () => {
    for (const device of devices) await device.end();
    await t?.dispose();
  });

  it('sends a command with parameters and --wait prints the outcome and its result', async () => {
    // Act
    const sent = await cli(
      'command',
      'send',
      'cli-a',
      'set-interval',
      '--param',
      'seconds=30',
      '--param',
      'for=600',
      '--wait',
    );
    const executionId = sent.out.split(/\s/)[0] ?? '';
    const listed = await cli('command', 'list', 'cli-a', '--status', 'SUCCEEDED');
    const shown = await cli('command', 'status', 'cli-a', executionId, '--json');

    // Assess
    expect(sent.err).toBe('');
    expect(sent.code).toBe(0);
    expect(sent.out).toMatch(/^\S+ {2}SUCCEEDED\n/);
    expect(JSON.parse(sent.out.slice(sent.out.indexOf('{')))).toEqual({ echo: { seconds: 30, for: 600 } });
    expect(listed.out).toMatch(new RegExp(`^${executionId} {2}set-interval +SUCCEEDED$`, 'm'));
    expect(JSON.parse(shown.out)).toMatchObject({ executionId, status: 'SUCCEEDED', deviceId: 'cli-a' });
  });

  it('prints the field the catalog refused, exits 1, and sends nothing', async () => {
    // Prepare
    const heard = devices[0]?.requests.length;

    // Act
    const refused = await cli(
      'command',
      'send',
      'cli-a',
      'set-interval',
      '--param',
      'seconds=0',
      '--param',
      'for=60',
    );

    // Assess
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(`parameters.seconds: must be >= ${MIN_SAMPLE_INTERVAL_SECONDS}`);
    expect(devices[0]?.requests.length).toBe(heard);
  });

  it('refuses a --param that is not key=value as bad usage (exit 2)', async () => {
    const bad = await cli('command', 'send', 'cli-a', 'ping', '--param', 'loud');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--param expects key=value, got 'loud'/);
  });

  it('sends a fleet command and --watch draws its progress until every device has answered', async () => {
    // Act
    const fleet = await cli('command', 'fleet', 'ping', '--devices', 'cli-a,cli-b', '--watch');

    // Assess
    expect(fleet.err).toBe('');
    expect(fleet.code).toBe(0);
    expect(fleet.out).toMatch(
      /\[#{30}\] 100 % {2}2 succeeded, 0 failed, 0 expired, 0 pending of 2 \(2\/2 dispatched\)\n$/,
    );
    const batchId = fleet.out.split(' ')[0] ?? '';
    const status = await cli('command', 'fleet-status', batchId);
    expect(status.out).toBe(
      `${batchId}  DISPATCHED: 2 succeeded, 0 failed, 0 expired, 0 pending of 2 (2/2 dispatched)\n`,
    );
  });

  it('devices rotate --type sends rotate-certificate to the type as a paced fleet command; --all-at-once notifies them', async () => {
    // Act
    const paced = await cli('devices', 'rotate', '--type', 'tracker', '--reason', '42', '--json');
    const atOnce = await cli('devices', 'rotate', '--type', 'tracker', '--all-at-once');

    // Assess
    expect(paced.err).toBe('');
    expect(JSON.parse(paced.out)).toMatchObject({
      name: 'rotate-certificate',
      parameters: { reason: '42' },
      targets: { deviceTypes: ['tracker'] },
      ratePerMinute: DEFAULT_ROTATION_RATE_PER_MINUTE,
      total: 2,
    });
    expect(atOnce.out).toBe('rotation requested of 2 device(s)\n');
  });
});
