import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityFiles } from '../../../edge/src/identity/identity-files.ts';
import { certificateFacts } from '../../../edge/src/identity/key-pair.ts';
import { runProvision } from '../../../edge/src/identity/provision.ts';
import { DynamoCertificateStore } from '../../../lambdas/adapters/dynamo-certificate-store.ts';
import type { BrokerMessage } from '../../../lib/local/broker.ts';
import { LOCAL_REGION, localResourceName } from '../../../lib/local/names.ts';
import { commandAnswer } from '../../../lib/protocol/commands.ts';
import { identityEnvironment, startAgentProcess } from '../../support/edge-agent-process.ts';
import { eventually, getJson, startTestPlatform, type TestPlatform } from '../../support/platform.ts';
import { call } from '../../support/rollouts.ts';

/**
 * `rotate-certificate`, the operator's tracked way to rotate, end to end on the local platform: a
 * device provisioned by its own CSR runs the edge agent's entry point in its own process (mutual TLS,
 * the device policy); the operator sends the command over the HTTP API; the agent rotates (new key,
 * CreateCertificateFromCsr, activate, reconnect, confirm) and the execution ends SUCCEEDED, answered on
 * the new certificate's connection, with the certificates table and IoT showing the switch.
 */

const THING = 'rot-cmd-1';
let t: TestPlatform;
let dir: string;
let agent: ChildProcess | undefined;
let first: string;
const logs: Array<Record<string, unknown>> = [];
const heard: BrokerMessage[] = [];

beforeAll(async () => {
  t = await startTestPlatform();
  t.platform.broker.onMessage((message) => {
    if (message.clientId === THING) heard.push(message);
  });
  dir = await mkdtemp(join(tmpdir(), 'fleetkit-rotate-cmd-'));
  const files = {
    keyFile: join(dir, 'identity', 'device.key'),
    certFile: join(dir, 'identity', 'device.crt'),
    caFile: join(dir, 'identity', 'ca.pem'),
  };
  const flags = ['--key-file', files.keyFile, '--cert-file', files.certFile, '--ca-file', files.caFile];
  // The device makes its key and CSR; the operator admits it; the device installs the answer.
  let csr = '';
  await runProvision(['csr', '--thing', THING, ...flags, '--csr-file', join(dir, 'identity', 'device.csr')], {
    env: {},
    out: (text) => (csr += text),
  });
  const admitted = await call(t.platform, 'POST', '/devices', {
    thingName: THING,
    thingType: 'tracker',
    csr,
  });
  first = String(admitted.body.certificateId);
  await writeFile(join(dir, 'answer.json'), JSON.stringify(admitted.body));
  await runProvision(['install', '--response', join(dir, 'answer.json'), ...flags], {
    env: {},
    out: () => {},
  });
  agent = startAgentProcess(identityEnvironment(t.platform, THING, files, dir), logs);
  // Listening for commands, and seen by the platform (a status), so the command goes at once.
  await eventually(async () => logs.find((l) => l.event === 'started'), 60_000);
  await eventually(
    async () => ((await getJson(t.platform, `/devices/${THING}`)).body.lastSeen ? true : undefined),
    30_000,
  );
}, 90_000);

afterAll(async () => {
  if (agent?.exitCode === null) agent.kill('SIGKILL');
  await t.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('rotate-certificate sent to an edge agent process', () => {
  it('ends SUCCEEDED on a new, confirmed certificate, the old one INACTIVE, answered on the new connection', async () => {
    // Act
    const sent = await call(t.platform, 'POST', `/devices/${THING}/commands`, {
      name: 'rotate-certificate',
      parameters: { reason: 'end-to-end test' },
    });
    const executionId = String(sent.body.executionId);
    const execution = await eventually(async () => {
      const { body } = await getJson(t.platform, `/devices/${THING}/commands/${executionId}`);
      return ['SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT'].includes(body.status) ? body : undefined;
    }, 60_000);

    // Assess: the execution, and the certificate the device now has on disk
    expect(sent.status).toBe(202);
    expect(execution).toMatchObject({ status: 'SUCCEEDED', name: 'rotate-certificate' });
    const current = await new IdentityFiles({
      keyFile: join(dir, 'identity', 'device.key'),
      certFile: join(dir, 'identity', 'device.crt'),
    }).current();
    const second = certificateFacts(current.certPem).certificateId;
    expect(second).not.toBe(first);
    expect(execution.result).toEqual({ certificateId: second, previousCertificateId: first, joined: false });

    // Assess: the registry, the certificates table and IoT show the switch
    expect((await getJson(t.platform, `/devices/${THING}`)).body).toMatchObject({ certificateId: second });
    const { accessKeyId, secretAccessKey } = t.platform.credentials;
    const dynamo = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        region: LOCAL_REGION,
        credentials: { accessKeyId, secretAccessKey },
        endpoint: t.platform.dynamoEndpoint,
      }),
    );
    const certificates = await new DynamoCertificateStore({
      client: dynamo,
      tableName: localResourceName('certificates'),
    }).forDevice(THING);
    dynamo.destroy();
    const byId = new Map(certificates.map((c) => [c.certificateId, c]));
    expect(byId.get(first)).toMatchObject({ status: 'INACTIVE', deactivatedAt: expect.any(Number) });
    expect(byId.get(second)).toMatchObject({
      status: 'ACTIVE',
      origin: 'rotation',
      confirmedAt: expect.any(Number),
    });
    expect(t.platform.iot.describeCertificate(first).certificateDescription.status).toBe('INACTIVE');

    // Assess: IN_PROGRESS then SUCCEEDED from the device; the outcome published with the new certificate
    const answers = heard
      .filter((m) => m.topic === `devices/tracker/${THING}/command-answers`)
      .map((m) => ({ principal: m.principal, answer: commandAnswer.parse(JSON.parse(m.payload.toString())) }))
      .filter((a) => a.answer.executionId === executionId);
    expect(answers.map((a) => a.answer.status)).toEqual(['IN_PROGRESS', 'SUCCEEDED']);
    expect(answers.at(-1)?.principal).toBe(second);
  }, 90_000);
});
