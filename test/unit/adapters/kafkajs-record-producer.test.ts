import { GetBootstrapBrokersCommand, type KafkaClient } from '@aws-sdk/client-kafka';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createKafkaFromEnv,
  KafkaConfigError,
  kafkaConfigFromEnv,
  resolveBrokers,
} from '../../../lambdas/adapters/kafkajs-record-producer.ts';

const CLUSTER_ARN =
  'arn:aws:kafka:eu-west-1:123456789012:cluster/fleetkit-dev/0123abcd-0000-1111-2222-333344445555-2';

/** A stand-in for the MSK control plane: GetBootstrapBrokers cannot be answered without AWS. */
function fakeKafkaClient(answer: { BootstrapBrokerStringSaslIam?: string }) {
  const calls: unknown[] = [];
  const client = {
    send: async (command: unknown) => {
      calls.push(command);
      return answer;
    },
  } as unknown as KafkaClient;
  return { client, calls };
}

describe('resolveBrokers', () => {
  it('splits KAFKA_BROKERS and ignores spaces and empty entries', async () => {
    expect(await resolveBrokers({ KAFKA_BROKERS: ' b-1:9092, b-2:9092,,' })).toEqual([
      'b-1:9092',
      'b-2:9092',
    ]);
  });

  it("asks MSK for the cluster's IAM bootstrap brokers (fake MSK client)", async () => {
    // Prepare
    const { client, calls } = fakeKafkaClient({ BootstrapBrokerStringSaslIam: 'b-1.x:9098,b-2.x:9098' });

    // Act
    const brokers = await resolveBrokers({ MSK_CLUSTER_ARN: CLUSTER_ARN }, client);

    // Assess
    expect(brokers).toEqual(['b-1.x:9098', 'b-2.x:9098']);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toBeInstanceOf(GetBootstrapBrokersCommand);
    expect((calls[0] as GetBootstrapBrokersCommand).input).toEqual({ ClusterArn: CLUSTER_ARN });
  });

  it.each<[string, Record<string, string>, { BootstrapBrokerStringSaslIam?: string } | undefined, RegExp]>([
    ['neither variable', {}, undefined, /KAFKA_BROKERS .* or MSK_CLUSTER_ARN/],
    ['only separators in KAFKA_BROKERS', { KAFKA_BROKERS: ' , ' }, undefined, /holds no broker/],
    ['a cluster ARN without a client', { MSK_CLUSTER_ARN: CLUSTER_ARN }, undefined, /no Kafka client/],
    [
      'a cluster without IAM brokers (fake MSK client)',
      { MSK_CLUSTER_ARN: CLUSTER_ARN },
      {},
      /no IAM bootstrap brokers/,
    ],
  ])('refuses %s with a KafkaConfigError', async (_case, env, answer, message) => {
    const client = answer === undefined ? undefined : fakeKafkaClient(answer).client;
    const error = await resolveBrokers(env, client).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KafkaConfigError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('kafkaConfigFromEnv', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('connects in plaintext without SASL when no mechanism is set', () => {
    const config = kafkaConfigFromEnv({ AWS_LAMBDA_FUNCTION_NAME: 'stream-processor' }, ['localhost:9092']);
    expect(config).toMatchObject({ clientId: 'stream-processor', brokers: ['localhost:9092'] });
    expect(config.ssl).toBeUndefined();
    expect(config.sasl).toBeUndefined();
  });

  it('uses TLS and an MSK IAM token over OAUTHBEARER, signed with the function credentials', async () => {
    // Prepare: credentials from the env, as Lambda provides them; signing happens locally, no AWS call.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAFLEETKITTEST0001');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test-secret');
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    const config = kafkaConfigFromEnv({ KAFKA_SASL_MECHANISM: 'aws-msk-iam', AWS_REGION: 'eu-west-1' }, [
      'b-1:9098',
    ]);

    // Act
    const sasl = config.sasl;
    const provider =
      sasl !== undefined && 'oauthBearerProvider' in sasl ? sasl.oauthBearerProvider : undefined;
    const token = provider === undefined ? '' : (await provider()).value;

    // Assess: the token is a base64url presigned kafka-cluster:Connect URL for the region.
    expect(config.ssl).toBe(true);
    expect(sasl?.mechanism).toBe('oauthbearer');
    const url = new URL(Buffer.from(token, 'base64url').toString('utf8'));
    expect(url.host).toBe('kafka.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('kafka-cluster:Connect');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(
      /^AKIAFLEETKITTEST0001\/\d{8}\/eu-west-1\/kafka-cluster\/aws4_request$/,
    );
  });

  it.each<[string, Record<string, string>, RegExp]>([
    [
      'an unknown mechanism, naming the variable',
      { KAFKA_SASL_MECHANISM: 'plain' },
      /KAFKA_SASL_MECHANISM: must be one of/,
    ],
    ['IAM without a region', { KAFKA_SASL_MECHANISM: 'aws-msk-iam' }, /needs AWS_REGION/],
  ])('refuses %s with a KafkaConfigError', (_case, env, message) => {
    expect(() => kafkaConfigFromEnv(env, ['b:9092'])).toThrow(KafkaConfigError);
    expect(() => kafkaConfigFromEnv(env, ['b:9092'])).toThrow(message);
  });
});

describe('createKafkaFromEnv', () => {
  it('refuses MSK IAM brokers without the IAM mechanism', async () => {
    const { client, calls } = fakeKafkaClient({ BootstrapBrokerStringSaslIam: 'b-1.x:9098' });
    await expect(
      createKafkaFromEnv({ MSK_CLUSTER_ARN: CLUSTER_ARN, AWS_REGION: 'eu-west-1' }, client),
    ).rejects.toThrow(/need KAFKA_SASL_MECHANISM=aws-msk-iam/);
    expect(calls).toHaveLength(0);
  });
});
