import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { build } from '../../lambdas/handlers/kafka-scram-rotation/app.ts';
import type { ScramCredentials } from '../../lib/protocol/scram-rotation.ts';
import { SecretsManagerEmulator } from '../support/secrets-manager.ts';

/**
 * The rotation function's four steps, driven as Secrets Manager drives them, against a Secrets Manager
 * emulator over HTTP (the real SDK client) and a stand-in for the brokers that accepts a user's password
 * only once "MSK has loaded it" (a number of probes after it changed): no MSK here.
 */

const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
const A = { username: 'iot-rules-a', password: 'initial-password-of-a' };
const B = { username: 'iot-rules-b', password: 'initial-password-of-b' };

let sm: SecretsManagerEmulator;
let clock: number;
let userSecrets: { a: string; b: string };
let client: string;
/** Passwords the brokers accept, per user; a new one after `loadAfter` probes. */
let brokers: { accepted: Map<string, string>; loadAfter: number; probes: number };
let slept: number[];

function rotationFunction(env: Record<string, string> = {}) {
  return build(
    {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
      SCRAM_USERS: JSON.stringify({ 'iot-rules-a': userSecrets.a, 'iot-rules-b': userSecrets.b }),
      ...env,
    },
    { write: () => {}, now: () => clock },
    {
      probe: {
        signsIn: async ({ username, password }: ScramCredentials) => {
          brokers.probes += 1;
          // MSK syncs the associated secret a while after it changed.
          const loaded = JSON.parse(
            sm.valueOf(username === A.username ? userSecrets.a : userSecrets.b) ?? '{}',
          );
          if (brokers.probes > brokers.loadAfter) brokers.accepted.set(username, loaded.password);
          return brokers.accepted.get(username) === password;
        },
      },
      sleep: async (ms) => {
        slept.push(ms);
        clock += ms;
      },
    },
  );
}

/** One rotation, step by step, as Secrets Manager's RotateSecret runs it. */
async function rotate(handler = rotationFunction(), steps: readonly string[] = STEPS): Promise<string> {
  const token = randomUUID();
  sm.startRotation(client, token);
  brokers.probes = 0;
  for (const Step of steps) await handler({ SecretId: client, ClientRequestToken: token, Step });
  return token;
}

const current = (id: string) => JSON.parse(sm.valueOf(id) ?? 'null');

beforeEach(async () => {
  sm = new SecretsManagerEmulator();
  await sm.start();
  clock = 0;
  slept = [];
  userSecrets = {
    a: sm.create('AmazonMSK_fleetkit-test-iot-rules-a', JSON.stringify(A)),
    b: sm.create('AmazonMSK_fleetkit-test-iot-rules-b', JSON.stringify(B)),
  };
  client = sm.create('fleetkit-test-iot-kafka-client', JSON.stringify(A), true);
  brokers = {
    accepted: new Map([
      [A.username, A.password],
      [B.username, B.password],
    ]),
    loadAfter: 0,
    probes: 0,
  };
});

afterEach(() => sm.stop());

describe('rotating the IoT rules Kafka credentials (alternating users)', () => {
  it('switches IoT to the other user with a new password, never touching the user IoT is on', async () => {
    // Act
    await rotate();
    // Assess
    const now = current(client);
    expect(now.username).toBe(B.username);
    expect(now.password).not.toBe(B.password);
    expect(now.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(current(userSecrets.b)).toEqual(now);
    expect(current(userSecrets.a)).toEqual(A);
    expect(JSON.parse(sm.valueOf(client, 'AWSPREVIOUS') ?? 'null')).toEqual(A);
  });

  it('comes back to the first user on the next rotation, leaving the second as it was', async () => {
    // Prepare
    await rotate();
    const onB = current(client);
    // Act
    await rotate();
    // Assess
    expect(current(client).username).toBe(A.username);
    expect(current(client).password).not.toBe(A.password);
    expect(current(userSecrets.b)).toEqual(onB);
  });

  it('waits for the brokers to load the new password before IoT is switched to it', async () => {
    // Prepare: MSK loads the password on the 4th probe, a minute in.
    brokers.loadAfter = 3;
    const handler = rotationFunction();
    const token = await rotate(handler, ['createSecret', 'setSecret']);
    // Act
    await handler({ SecretId: client, ClientRequestToken: token, Step: 'testSecret' });
    // Assess
    expect(slept).toEqual([20_000, 20_000, 20_000]);
    expect(current(client)).toEqual(A);
    await handler({ SecretId: client, ClientRequestToken: token, Step: 'finishSecret' });
    expect(current(client).username).toBe(B.username);
  });

  it('gives up when the brokers never accept it, and IoT stays on the user that works', async () => {
    // Prepare
    brokers.loadAfter = Number.POSITIVE_INFINITY;
    const handler = rotationFunction();
    // Act
    const error = await rotate(handler).catch((caught: unknown) => caught);
    // Assess
    expect((error as Error).message).toMatch(
      /brokers still refuse iot-rules-b's new password after 37 attempts/,
    );
    expect(clock).toBe(12 * 60_000);
    expect(current(client)).toEqual(A);
    // The next rotation, once MSK has caught up, succeeds.
    brokers.loadAfter = 0;
    await rotate(handler);
    expect(current(client).username).toBe(B.username);
  });

  it('repeats a step without harm (Secrets Manager retries a step that timed out)', async () => {
    // Prepare
    const handler = rotationFunction();
    const token = randomUUID();
    sm.startRotation(client, token);
    // Act
    for (const Step of [
      'createSecret',
      'createSecret',
      'setSecret',
      'setSecret',
      'testSecret',
      'finishSecret',
      'finishSecret',
    ]) {
      await handler({ SecretId: client, ClientRequestToken: token, Step });
    }
    // Assess
    expect(current(client).username).toBe(B.username);
    expect(current(userSecrets.b)).toEqual(current(client));
  });

  it.each<[string, () => Promise<unknown>, RegExp]>([
    [
      'a secret without rotation enabled',
      async () => {
        const other = sm.create('not-rotated', JSON.stringify(A));
        const token = randomUUID();
        sm.startRotation(other, token);
        await rotationFunction()({ SecretId: other, ClientRequestToken: token, Step: 'createSecret' });
      },
      /does not have rotation enabled/,
    ],
    [
      'a token the secret does not know',
      () => rotationFunction()({ SecretId: client, ClientRequestToken: randomUUID(), Step: 'createSecret' }),
      /has no version/,
    ],
    [
      'a client secret holding a user of neither pair',
      async () => {
        const stranger = sm.create(
          'stranger',
          JSON.stringify({ username: 'root', password: 'password-1234' }),
          true,
        );
        const token = randomUUID();
        sm.startRotation(stranger, token);
        await rotationFunction()({ SecretId: stranger, ClientRequestToken: token, Step: 'createSecret' });
      },
      /user 'root' is not one of iot-rules-a, iot-rules-b/,
    ],
    [
      'an event that is not a rotation step',
      () => rotationFunction()({ SecretId: client, ClientRequestToken: randomUUID(), Step: 'rotate' }),
      /Step/,
    ],
    [
      'a function without its users',
      async () => rotationFunction({ SCRAM_USERS: '{"one":"arn:x"}' }),
      /exactly two users/,
    ],
  ])('refuses %s', async (_, act, message) => {
    await expect(act()).rejects.toThrow(message);
  });
});
