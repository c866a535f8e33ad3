import { describe, expect, it } from 'vitest';
import { SchemaValidationError } from '../../../lib/protocol/errors.ts';
import {
  type KafkaConnection,
  kafkaConnectionEnv,
  parseKafkaConnection,
} from '../../../lib/protocol/kafka-connection.ts';

const SCRAM = {
  KAFKA_BROKERS: 'b-1.kafka.example:9096,b-2.kafka.example:9096',
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  KAFKA_SASL_USERNAME: 'fleetkit',
  KAFKA_SASL_PASSWORD: 's3cret',
  KAFKA_SSL: 'true',
};

describe('parseKafkaConnection', () => {
  it.each<[string, Record<string, string>, KafkaConnection]>([
    [
      'plaintext, no authentication',
      { KAFKA_BROKERS: 'localhost:9092' },
      { brokers: ['localhost:9092'], ssl: false },
    ],
    [
      'brokers with spaces and empty entries',
      { KAFKA_BROKERS: ' a.example:9092, [::1]:9093,, ' },
      { brokers: ['a.example:9092', '[::1]:9093'], ssl: false },
    ],
    [
      'SCRAM over TLS',
      SCRAM,
      {
        brokers: ['b-1.kafka.example:9096', 'b-2.kafka.example:9096'],
        ssl: {},
        sasl: { mechanism: 'scram-sha-512', username: 'fleetkit', password: 's3cret' },
      },
    ],
    [
      'TLS with a CA file',
      { KAFKA_BROKERS: 'k.example:9093', KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/etc/kafka/ca.pem' },
      { brokers: ['k.example:9093'], ssl: { caFile: '/etc/kafka/ca.pem' } },
    ],
    [
      'SCRAM-SHA-256 in plaintext to a loopback development broker',
      {
        KAFKA_BROKERS: '127.0.0.1:9092',
        KAFKA_SASL_MECHANISM: 'scram-sha-256',
        KAFKA_SASL_USERNAME: 'dev',
        KAFKA_SASL_PASSWORD: 'dev',
      },
      {
        brokers: ['127.0.0.1:9092'],
        ssl: false,
        sasl: { mechanism: 'scram-sha-256', username: 'dev', password: 'dev' },
      },
    ],
    [
      'MSK IAM, TLS implied',
      { KAFKA_BROKERS: 'b-1.x:9098', KAFKA_SASL_MECHANISM: 'aws-msk-iam' },
      { brokers: ['b-1.x:9098'], ssl: {}, sasl: { mechanism: 'aws-msk-iam' } },
    ],
    [
      'empty variables as unset',
      { KAFKA_BROKERS: 'k:9092', KAFKA_SASL_MECHANISM: '', KAFKA_SSL: '' },
      { brokers: ['k:9092'], ssl: false },
    ],
  ])('reads %s', (_, env, connection) => {
    expect(parseKafkaConnection(env)).toEqual(connection);
  });

  it('takes the brokers it is given (from MSK) over KAFKA_BROKERS', () => {
    expect(parseKafkaConnection({ KAFKA_SASL_MECHANISM: 'aws-msk-iam' }, ['b-1.x:9098']).brokers).toEqual([
      'b-1.x:9098',
    ]);
  });

  it.each<[string, Record<string, string>, string, RegExp]>([
    ['no brokers', {}, 'KAFKA_BROKERS', /is required/],
    ['a broker without a port', { KAFKA_BROKERS: 'kafka.example' }, 'KAFKA_BROKERS', /host:port/],
    ['a port out of range', { KAFKA_BROKERS: 'k:70000' }, 'KAFKA_BROKERS', /1 to 65535/],
    ['only separators', { KAFKA_BROKERS: ' , ' }, 'KAFKA_BROKERS', /at least one broker/],
    [
      'an unknown mechanism',
      { KAFKA_BROKERS: 'k:9092', KAFKA_SASL_MECHANISM: 'plain' },
      'KAFKA_SASL_MECHANISM',
      /one of/,
    ],
    [
      'SCRAM without a password',
      { ...SCRAM, KAFKA_SASL_PASSWORD: '' },
      'KAFKA_SASL_PASSWORD',
      /required with scram-sha-512/,
    ],
    ['SCRAM without a user', { ...SCRAM, KAFKA_SASL_USERNAME: '' }, 'KAFKA_SASL_USERNAME', /required/],
    [
      'credentials without a mechanism',
      { KAFKA_BROKERS: 'k:9092', KAFKA_SASL_USERNAME: 'u' },
      'KAFKA_SASL_USERNAME',
      /KAFKA_SASL_MECHANISM is not/,
    ],
    [
      'SCRAM in plaintext to a remote broker',
      { ...SCRAM, KAFKA_SSL: 'false' },
      'KAFKA_SSL',
      /must be true .* not on loopback/,
    ],
    ['SCRAM, TLS left unset, to a remote broker', { ...SCRAM, KAFKA_SSL: '' }, 'KAFKA_SSL', /must be true/],
    [
      'IAM without TLS',
      { KAFKA_BROKERS: 'b:9098', KAFKA_SASL_MECHANISM: 'aws-msk-iam', KAFKA_SSL: 'false' },
      'KAFKA_SSL',
      /TLS only/,
    ],
    [
      'a CA file without TLS',
      { KAFKA_BROKERS: 'k:9092', KAFKA_SSL_CA_FILE: '/ca.pem' },
      'KAFKA_SSL_CA_FILE',
      /KAFKA_SSL is not true/,
    ],
    ['TLS as yes', { KAFKA_BROKERS: 'k:9092', KAFKA_SSL: 'yes' }, 'KAFKA_SSL', /'true' or 'false'/],
  ])('refuses %s, naming %s', (_, env, variable, reason) => {
    // Act
    const error = (() => {
      try {
        parseKafkaConnection(env);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    // Assess
    expect(error).toBeInstanceOf(SchemaValidationError);
    const issue = (error as SchemaValidationError).issues.find((i) => i.field.split('.')[0] === variable);
    expect(issue?.reason, JSON.stringify((error as SchemaValidationError).issues)).toMatch(reason);
  });
});

describe('kafkaConnectionEnv', () => {
  it.each<[string, Record<string, string>]>([
    ['plaintext', { KAFKA_BROKERS: 'localhost:9092' }],
    ['SCRAM over TLS', SCRAM],
    ['TLS with a CA', { KAFKA_BROKERS: 'k.example:9093', KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/ca.pem' }],
    ['IAM', { KAFKA_BROKERS: 'b-1.x:9098', KAFKA_SASL_MECHANISM: 'aws-msk-iam' }],
  ])('gives functions the same connection the platform parsed (%s)', (_, env) => {
    // Prepare
    const connection = parseKafkaConnection(env);
    // Act / Assess
    expect(parseKafkaConnection(kafkaConnectionEnv(connection))).toEqual(connection);
  });
});
