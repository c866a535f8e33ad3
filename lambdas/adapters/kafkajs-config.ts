import { readFileSync } from 'node:fs';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import type { KafkaConfig } from 'kafkajs';
import type { KafkaConnection } from '../../lib/protocol/kafka-connection.ts';

/** What building a kafkajs config needs besides the connection: for IAM, the region tokens are signed for. */
export interface KafkajsConfigOptions {
  readonly clientId: string;
  /** Required for `aws-msk-iam`. */
  readonly region?: string;
  /** Reads the CA file; injected so a test needs no file. @default fs.readFileSync */
  readonly readFile?: (path: string) => Buffer;
}

/**
 * The kafkajs client config of a {@link KafkaConnection}: TLS with Node's defaults (certificates
 * verified, TLS 1.2 or later) and the extra CA when one is named; SCRAM with its credentials; IAM as
 * SASL/OAUTHBEARER with a token from aws-msk-iam-sasl-signer-js, signed with the process's credentials
 * on every (re)authentication (tokens last 15 minutes).
 *
 * @throws Error when the CA file cannot be read, or IAM has no region — naming the variable
 */
export function kafkajsConfig(connection: KafkaConnection, options: KafkajsConfigOptions): KafkaConfig {
  const { ssl, sasl } = connection;
  const readFile = options.readFile ?? readFileSync;
  let ca: Buffer | undefined;
  if (ssl !== false && ssl.caFile !== undefined) {
    try {
      ca = readFile(ssl.caFile);
    } catch (error) {
      throw new Error(`KAFKA_SSL_CA_FILE '${ssl.caFile}' cannot be read: ${(error as Error).message}`);
    }
  }
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: [...connection.brokers],
    ...(ssl === false ? {} : { ssl: ca === undefined ? true : { ca: [ca] } }),
  };
  if (sasl === undefined) return config;
  if (sasl.mechanism === 'scram-sha-256' || sasl.mechanism === 'scram-sha-512') {
    const { username, password } = sasl;
    return {
      ...config,
      sasl:
        sasl.mechanism === 'scram-sha-256'
          ? { mechanism: 'scram-sha-256', username, password }
          : { mechanism: 'scram-sha-512', username, password },
    };
  }
  const region = options.region;
  if (region === undefined || region === '') {
    throw new Error('KAFKA_SASL_MECHANISM=aws-msk-iam needs AWS_REGION to sign tokens for');
  }
  return {
    ...config,
    sasl: {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({ value: (await generateAuthToken({ region })).token }),
    },
  };
}
