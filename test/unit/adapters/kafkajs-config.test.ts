import { describe, expect, it } from 'vitest';
import { kafkajsConfig } from '../../../lambdas/adapters/kafkajs-config.ts';
import { parseKafkaConnection } from '../../../lib/protocol/kafka-connection.ts';

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const readFile = (path: string) => {
  if (path === '/etc/kafka/ca.pem') return CA;
  throw new Error(`ENOENT: no such file, open '${path}'`);
};

describe('kafkajsConfig', () => {
  it('connects in plaintext without SASL when nothing is set', () => {
    // Act
    const config = kafkajsConfig(parseKafkaConnection({ KAFKA_BROKERS: 'localhost:9092' }), {
      clientId: 'c',
    });
    // Assess
    expect(config).toEqual({ clientId: 'c', brokers: ['localhost:9092'] });
  });

  it('uses SCRAM-SHA-512 over TLS with the credentials given, verifying the brokers', () => {
    // Act
    const config = kafkajsConfig(
      parseKafkaConnection({
        KAFKA_BROKERS: 'b-1.example:9096',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'fleetkit',
        KAFKA_SASL_PASSWORD: 's3cret',
        KAFKA_SSL: 'true',
      }),
      { clientId: 'c' },
    );
    // Assess: `ssl: true` is Node's TLS defaults, certificates verified.
    expect(config.ssl).toBe(true);
    expect(config.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'fleetkit', password: 's3cret' });
  });

  it('trusts the CA file named, and only adds it to what TLS verifies', () => {
    // Act
    const config = kafkajsConfig(
      parseKafkaConnection({
        KAFKA_BROKERS: 'k:9093',
        KAFKA_SSL: 'true',
        KAFKA_SSL_CA_FILE: '/etc/kafka/ca.pem',
      }),
      { clientId: 'c', readFile },
    );
    // Assess
    expect(config.ssl).toEqual({ ca: [CA] });
  });

  it('names KAFKA_SSL_CA_FILE when the file cannot be read', () => {
    // Prepare
    const connection = parseKafkaConnection({
      KAFKA_BROKERS: 'k:9093',
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: '/nope.pem',
    });
    // Act / Assess
    expect(() => kafkajsConfig(connection, { clientId: 'c', readFile })).toThrow(
      /KAFKA_SSL_CA_FILE '\/nope.pem' cannot be read: ENOENT/,
    );
  });

  it('signs MSK IAM tokens for the region, and refuses IAM without one', () => {
    // Prepare
    const connection = parseKafkaConnection({ KAFKA_BROKERS: 'b:9098', KAFKA_SASL_MECHANISM: 'aws-msk-iam' });
    // Act
    const config = kafkajsConfig(connection, { clientId: 'c', region: 'eu-west-1' });
    // Assess
    expect(config.ssl).toBe(true);
    expect(config.sasl?.mechanism).toBe('oauthbearer');
    expect(() => kafkajsConfig(connection, { clientId: 'c' })).toThrow(/needs AWS_REGION/);
  });
});
