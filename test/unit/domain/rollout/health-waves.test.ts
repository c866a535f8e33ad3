import { describe, expect, it } from 'vitest';
import type { HealthVerdict } from '../../../../lambdas/domain/rollout/health-gate.ts';
import type { HealthGate } from '../../../../lib/protocol/rollouts.ts';
import { candidates, NOW, names, rollout, tick } from './scheduler-support.ts';
import { counters, request } from './support.ts';

/**
 * A rollout with a health gate opens a wave only on the gate's pass over the devices updated so far, and
 * releases its control cohort, as the last wave, the same way.
 */

const healthGate: HealthGate = {
  metric: 'rebootRate',
  maxWorsening: { absolute: 0.01 },
  windowMinutes: 60,
  controlPercentage: 10,
};
const pass: HealthVerdict = { verdict: 'pass', metric: 'rebootRate', reason: 'within the limit' };
const insufficient: HealthVerdict = {
  verdict: 'insufficientData',
  metric: 'rebootRate',
  reason: 'updated cohort has 3 device-hours (needs 24 each)',
};

describe('with a health gate, the next wave waits for a pass on the devices updated so far', () => {
  // Wave 0's success gate was met ten minutes ago and its soak of five minutes is over.
  const metAt = NOW - 600;
  const gated = rollout({
    request: request({
      waves: { sizes: [10, 100], gate: { successPercentage: 90, minimumSoakMinutes: 5 } },
      healthGate,
    }),
    waveSizes: [10, 80, 10],
    controlWave: 2,
    gateMetAt: metAt,
  });
  const offered = [...candidates(1, 0), ...candidates(4, 1)];
  const wave0Done = counters([{ SUCCEEDED: 10 }]);

  it.each<[string, HealthVerdict | undefined, number | undefined, number, string | undefined]>([
    ['no verdict yet', undefined, undefined, 0, 'the health gate has no pass yet'],
    ['too little data to judge', insufficient, NOW, 0, 'insufficientData'],
    [
      'a pass measured before the wave filled judged fewer devices',
      pass,
      metAt - 60,
      0,
      'passed before this wave filled',
    ],
    ['a pass measured when the wave filled', pass, metAt, 1, undefined],
    ['a pass measured since', pass, NOW - 60, 1, undefined],
  ])('%s', (_case, health, checkedAt, wave, waiting) => {
    const decision = tick({
      rollout: gated,
      candidates: offered,
      counters: wave0Done,
      ...(health === undefined ? {} : { health }),
      ...(checkedAt === undefined ? {} : { healthCheckedAt: checkedAt }),
    });
    expect(decision.rollout.currentWave).toBe(wave);
    expect(decision.queue.some((c) => c.wave === 1)).toBe(wave === 1);
    if (waiting === undefined) expect(decision).not.toHaveProperty('waitingOnHealth');
    else expect(decision.waitingOnHealth).toContain(waiting);
  });

  it('keeps the moment the wave filled while it waits, so a later pass can be told from an earlier one', () => {
    const decision = tick({
      rollout: gated,
      counters: wave0Done,
      health: insufficient,
      healthCheckedAt: NOW,
    });
    expect(decision.rollout.gateMetAt).toBe(metAt);
  });

  it('waits for a pass without a success gate too, from when the wave was fully notified', () => {
    // Prepare
    const ungated = rollout({
      request: request({ waves: { sizes: [10, 100] }, healthGate }),
      waveSizes: [10, 80, 10],
      controlWave: 2,
    });
    const notified = counters([{ QUEUED: 2, SUCCEEDED: 8 }]);
    // Act: the wave fills now; a pass from a minute ago does not count, one from now does.
    const first = tick({ rollout: ungated, counters: notified, health: pass, healthCheckedAt: NOW - 60 });
    const later = tick({
      rollout: first.rollout,
      counters: notified,
      health: pass,
      healthCheckedAt: NOW + 240,
      nowMs: (NOW + 300) * 1000,
    });
    // Assess
    expect(first.rollout).toMatchObject({ currentWave: 0, gateMetAt: NOW });
    expect(later.rollout.currentWave).toBe(1);
  });

  it('a rollout without a health gate opens the next wave on its success gate alone', () => {
    const plain = rollout({
      request: request({ waves: { sizes: [10, 100], gate: { successPercentage: 90 } } }),
      waveSizes: [10, 90],
    });
    expect(tick({ rollout: plain, counters: wave0Done }).rollout.currentWave).toBe(1);
  });
});

describe('the control cohort, released as the last wave', () => {
  const gated = rollout({
    request: request({ waves: { sizes: [50, 100] }, healthGate }),
    waveSizes: [45, 45, 10],
    controlWave: 2,
    currentWave: 1,
    gateMetAt: NOW - 600,
  });
  const control = candidates(10, 2);
  const updated = counters([{ SUCCEEDED: 45 }, { SUCCEEDED: 45 }]);

  it('stays held back while the gate has no pass on the updated devices', () => {
    const decision = tick({
      rollout: gated,
      candidates: control,
      counters: updated,
      health: insufficient,
      healthCheckedAt: NOW,
    });
    expect(decision.rollout).toMatchObject({ currentWave: 1, status: 'IN_PROGRESS' });
    expect(decision.queue).toEqual([]);
  });

  it('is offered the update once the gate passed on every updated device', () => {
    const decision = tick({
      rollout: gated,
      candidates: control,
      counters: updated,
      health: pass,
      healthCheckedAt: NOW,
    });
    expect(decision.rollout.currentWave).toBe(2);
    expect(names(decision.queue)).toEqual(names(control));
  });

  it.each<[string, Parameters<typeof counters>[0], string]>([
    [
      'does not complete before the control cohort is updated too',
      [{ SUCCEEDED: 45 }, { SUCCEEDED: 45 }],
      'IN_PROGRESS',
    ],
    [
      'completes with every targeted device updated',
      [{ SUCCEEDED: 45 }, { SUCCEEDED: 45 }, { SUCCEEDED: 10 }],
      'COMPLETED',
    ],
  ])('%s', (_case, waves, status) => {
    const released = { ...gated, currentWave: 2 };
    const decision = tick({
      rollout: released,
      counters: counters(waves),
      health: pass,
      healthCheckedAt: NOW,
    });
    expect(decision.rollout.status).toBe(status);
  });
});
