import { describe, expect, it } from 'vitest';
import {
  applyAnswer,
  awaitsDevice,
  type CommandExecution,
  createExecution,
  dueAtOf,
  expire,
  hold,
  markSent,
  requestOf,
  timeOut,
} from '../../../../lambdas/domain/commands/execution.ts';

const NOW = 1_764_196_408_000;
const created = createExecution(
  {
    executionId: 'e1',
    deviceId: 'A',
    deviceType: 'tracker',
    name: 'set-interval',
    parameters: { seconds: 5, for: 60 },
    expiresAt: NOW + 3_600_000,
    timeoutSeconds: 60,
    batchId: 'b1',
  },
  NOW,
);

function ok(value: CommandExecution | Error): CommandExecution {
  if (value instanceof Error) throw value;
  return value;
}

describe('a command execution through its life', () => {
  it('starts CREATED, unsent, awaiting its device, due at its expiry', () => {
    expect(created).toMatchObject({ status: 'CREATED', deliveries: 0, ignoredAnswers: 0, version: 1 });
    expect(awaitsDevice(created)).toBe(true);
    expect(dueAtOf(created)).toBe(NOW + 3_600_000);
  });

  it('becomes the request the device gets, issued when created', () => {
    expect(requestOf(created)).toEqual({
      executionId: 'e1',
      name: 'set-interval',
      parameters: { seconds: 5, for: 60 },
      issuedAt: NOW,
      expiresAt: NOW + 3_600_000,
    });
  });

  it('is held with why and when the device is expected, and loses both once sent', () => {
    // Act
    const held = ok(hold(created, 'asleep', NOW + 600_000));
    const sent = ok(markSent(held, NOW + 600_000));

    // Assess
    expect(held).toMatchObject({
      status: 'CREATED',
      heldReason: 'asleep',
      expectedDeliveryAt: NOW + 600_000,
    });
    expect(sent).toMatchObject({
      status: 'SENT',
      sentAt: NOW + 600_000,
      lastSentAt: NOW + 600_000,
      deliveries: 1,
    });
    expect(sent).not.toHaveProperty('heldReason');
    expect(sent).not.toHaveProperty('expectedDeliveryAt');
    expect(dueAtOf(sent)).toBe(NOW + 660_000);
  });

  it('keeps the first send time on a resend, so the timeout does not move', () => {
    // Act
    const sent = ok(markSent(created, NOW));
    const again = ok(markSent(sent, NOW + 30_000));

    // Assess
    expect(again).toMatchObject({ status: 'SENT', sentAt: NOW, lastSentAt: NOW + 30_000, deliveries: 2 });
    expect(dueAtOf(again)).toBe(NOW + 60_000);
  });

  it('goes back to CREATED when its device slept through it, and times out afresh when sent again', () => {
    // Act
    const sent = ok(markSent(created, NOW));
    const requeued = ok(hold(sent, 'not heard from since sent', NOW + 3_000_000));
    const resent = ok(markSent(requeued, NOW + 3_000_000));

    // Assess
    expect(requeued).toMatchObject({ status: 'CREATED', deliveries: 1 });
    expect(requeued).not.toHaveProperty('sentAt');
    expect(dueAtOf(requeued)).toBe(NOW + 3_600_000);
    expect(dueAtOf(resent)).toBe(NOW + 3_060_000);
  });

  it('keeps the result and reason of an outcome, and is then due for nothing', () => {
    // Prepare
    const sent = ok(markSent(created, NOW));

    // Act
    const started = applyAnswer(sent, { executionId: 'e1', status: 'IN_PROGRESS' }, NOW + 1_000);
    if (started.outcome !== 'applied') throw new Error(started.reason);
    const done = applyAnswer(
      started.next,
      { executionId: 'e1', status: 'FAILED', reason: 'no sensor', result: { code: 5 } },
      NOW + 2_000,
    );

    // Assess
    if (done.outcome !== 'applied') throw new Error(done.reason);
    expect(done.next).toMatchObject({
      status: 'FAILED',
      startedAt: NOW + 1_000,
      endedAt: NOW + 2_000,
      reason: 'no sensor',
      result: { code: 5 },
    });
    expect(dueAtOf(done.next)).toBeUndefined();
    expect(awaitsDevice(done.next)).toBe(false);
  });

  it('says why it expired and why it timed out', () => {
    // Act
    const expired = ok(expire(created, NOW + 3_600_000));
    const timedOut = ok(timeOut(ok(markSent(created, NOW)), NOW + 60_000));

    // Assess
    expect(expired).toMatchObject({ status: 'EXPIRED', endedAt: NOW + 3_600_000 });
    expect(expired.reason).toMatch(/not delivered before it expired/);
    expect(timedOut).toMatchObject({ status: 'TIMED_OUT', reason: 'no outcome within 60 s of delivery' });
  });

  it('does not change the execution it is given', () => {
    // Prepare
    const frozen = Object.freeze({ ...created });

    // Act
    ok(markSent(frozen, NOW));
    ok(hold(frozen, 'asleep', undefined));

    // Assess
    expect(frozen).toEqual(created);
  });
});
