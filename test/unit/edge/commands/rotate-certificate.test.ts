import { afterEach, describe, expect, it } from 'vitest';
import { BuiltInCommands, type CommandHost } from '../../../../edge/src/commands/built-in-commands.ts';
import type { CommandRotator } from '../../../../edge/src/commands/rotate-certificate.ts';
import type { RotationReason, RotationResult } from '../../../../edge/src/identity/rotation.ts';
import { FakeClock } from '../ota/support.ts';
import { until } from '../shadow/support.ts';
import {
  answersOn,
  COMMANDS_TOPIC,
  DEVICE,
  MemoryBroker,
  openCommands,
  removeDirs,
  request,
  tempDir,
} from './support.ts';

afterEach(removeDirs);

/** A rotator whose rotation ends when the test says, recording who asked. */
function heldRotator() {
  const asked: RotationReason[] = [];
  let finish: (result: RotationResult & { joined: boolean }) => void = () => {};
  const rotator: CommandRotator = {
    rotateOrJoin: (reason) => {
      asked.push(reason);
      return new Promise((resolve) => {
        finish = resolve;
      });
    },
  };
  return { rotator, asked, finish: (result: RotationResult & { joined: boolean }) => finish(result) };
}

/** The agent's commands module with the built-in commands, on an in-memory broker. */
async function agentWith(rotator: CommandRotator | undefined) {
  const broker = new MemoryBroker();
  const transport = broker.attach(DEVICE, { connected: true });
  const clock = new FakeClock();
  const host: CommandHost = {
    clock,
    msPerSecond: 1000,
    sampleNow: async () => ({ ts: 0, values: {} }),
    overrideSamplingInterval: () => {},
    endSamplingOverride: () => {},
    diagnostics: async () => ({}),
    ...(rotator === undefined ? {} : { rotator }),
  };
  const commands = await openCommands({
    directory: await tempDir(),
    transport,
    clock,
    handlers: new BuiltInCommands(host).handlers,
  });
  await commands.start();
  const send = (executionId: string, parameters: Record<string, unknown> = {}) =>
    broker.publish(
      COMMANDS_TOPIC,
      JSON.stringify(request(clock.now(), { executionId, name: 'rotate-certificate', parameters })),
    );
  const statuses = (executionId: string) =>
    answersOn(broker)
      .filter((a) => a.executionId === executionId)
      .map((a) => a.status);
  return { broker, commands, send, statuses };
}

describe('the rotate-certificate command', () => {
  it('starts the rotator, answers IN_PROGRESS while it runs, and SUCCEEDED with the new certificate once confirmed', async () => {
    // Arrange
    const held = heldRotator();
    const { broker, commands, send, statuses } = await agentWith(held.rotator);

    // Act
    send('rot-1', { reason: 'key ceremony' });
    await until(() => statuses('rot-1').length === 1, 'IN_PROGRESS');
    const whileRotating = statuses('rot-1');
    held.finish({
      outcome: 'rotated',
      certificateId: 'b'.repeat(64),
      previousCertificateId: 'a'.repeat(64),
      joined: false,
    });
    await until(() => statuses('rot-1').length === 2, 'the outcome');
    await commands.stop();

    // Assess
    expect(held.asked).toEqual(['command']);
    expect(whileRotating).toEqual(['IN_PROGRESS']);
    expect(answersOn(broker).at(-1)).toMatchObject({
      executionId: 'rot-1',
      status: 'SUCCEEDED',
      result: { certificateId: 'b'.repeat(64), previousCertificateId: 'a'.repeat(64), joined: false },
    });
  });

  it('answers FAILED with the rotator’s reason when the rotation fails (a rotation it joined included)', async () => {
    // Arrange
    const held = heldRotator();
    const { broker, commands, send, statuses } = await agentWith(held.rotator);

    // Act
    send('rot-2');
    await until(() => statuses('rot-2').length === 1, 'IN_PROGRESS');
    held.finish({ outcome: 'failed', reason: 'certificate c did not connect: back on a', joined: true });
    await until(() => statuses('rot-2').length === 2, 'the outcome');
    await commands.stop();

    // Assess
    expect(statuses('rot-2')).toEqual(['IN_PROGRESS', 'FAILED']);
    expect(answersOn(broker).at(-1)).toMatchObject({
      status: 'FAILED',
      reason: 'certificate c did not connect: back on a',
      result: { joined: true },
    });
  });

  it('fails, saying why, on an agent without a certificate of its own; refuses an unknown parameter', async () => {
    // Arrange
    const { broker, commands, send, statuses } = await agentWith(undefined);

    // Act
    send('rot-3');
    send('rot-4', { force: true });
    await until(() => statuses('rot-3').length === 2 && statuses('rot-4').length === 1, 'the answers');
    await commands.stop();

    // Assess
    expect(
      answersOn(broker).find((a) => a.executionId === 'rot-3' && a.status !== 'IN_PROGRESS'),
    ).toMatchObject({
      status: 'FAILED',
      reason: 'this agent has no certificate of its own to rotate',
    });
    expect(answersOn(broker).find((a) => a.executionId === 'rot-4')).toMatchObject({
      status: 'REJECTED',
      reason: expect.stringContaining('parameters.force'),
    });
  });
});
