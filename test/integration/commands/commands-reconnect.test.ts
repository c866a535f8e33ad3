import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executionIn, handDevice } from '../../support/commands.ts';
import { eventually, startTestPlatform, type TestPlatform } from '../../support/platform.ts';
import { call } from '../../support/rollouts.ts';

/**
 * A device that drops off the network between two contacts (no PSM, so the platform believes it awake)
 * misses a request published to a clean session. The platform does not fail the command for that: the
 * sweeper sees no sign of life since the request went out, takes it back to held, and the device's next
 * status after it reconnects sends it again; the device answers, and the command succeeds.
 */
describe('a command to a device that went away and came back', () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await startTestPlatform();
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
  });

  it('is held when the device slept through it, and delivered after it reconnects', async () => {
    // Prepare: the device shows up once, then its connection goes
    const first = await handDevice(t.platform, 'cmd-roamer', 'tracker');
    await first.status();
    await first.end();

    // Act: sent into the void; a second later the sweeper finds it unanswered and the device silent
    const sent = await call(t.platform, 'POST', '/devices/cmd-roamer/commands', {
      name: 'ping',
      timeoutSeconds: 1,
    });
    await sleep(1_100);
    await t.platform.scheduler.fire('commandsScheduler');
    const held = await executionIn(t.platform, 'cmd-roamer', sent.body.executionId, 'CREATED');
    const again = await handDevice(t.platform, 'cmd-roamer', 'tracker', {
      autoAnswer: (request) => ({ executionId: request.executionId, status: 'SUCCEEDED' }),
    });
    await again.status();
    const done = await executionIn(t.platform, 'cmd-roamer', sent.body.executionId, 'SUCCEEDED');
    await again.end();

    // Assess
    expect(sent.body.status).toBe('SENT');
    expect(held.heldReason).toMatch(/slept through it/);
    expect(first.requests).toEqual([]);
    await eventually(async () => (again.requests.length > 0 ? true : undefined));
    expect(again.requests.map((r) => r.executionId)).toEqual([sent.body.executionId]);
    expect(done.deliveries).toBe(2);
  });
});
