import * as z from 'zod';
import { parseWith } from './parse.ts';

/**
 * How a Kafka client reaches its cluster, from the environment: the brokers, TLS (and the CA to trust),
 * and the SASL mechanism with its credentials. The local platform (`KAFKA_BROKERS` and friends) and
 * the functions read it with the same schema, so a bad setting fails at start naming the variable.
 */
export interface KafkaConnection {
  /** `host:port`, at least one. */
  readonly brokers: readonly string[];
  /** TLS to the brokers, with an extra CA to trust (a PEM file) when given; false is plaintext. */
  readonly ssl: false | { readonly caFile?: string };
  /** @default - no authentication */
  readonly sasl?:
    | {
        readonly mechanism: 'scram-sha-256' | 'scram-sha-512';
        readonly username: string;
        readonly password: string;
      }
    | { readonly mechanism: 'aws-msk-iam' };
}

/** `KAFKA_SASL_MECHANISM` values: SCRAM (RFC 5802, 7677; MSK's SASL/SCRAM is SHA-512) or MSK's IAM. */
export const KAFKA_SASL_MECHANISMS = ['scram-sha-256', 'scram-sha-512', 'aws-msk-iam'] as const;

const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$/;

/** One `host:port` (an IPv6 host in brackets), port 1-65535. */
const broker = z.string().refine((value) => {
  const at = value.lastIndexOf(':');
  const port = Number(value.slice(at + 1));
  return at > 0 && HOST.test(value.slice(0, at)) && Number.isInteger(port) && port >= 1 && port <= 65_535;
}, 'each broker must be host:port with a port from 1 to 65535');

const brokerList = z
  .string({ error: 'is required: host:port,... of the brokers' })
  .transform((value) =>
    value
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== ''),
  )
  .pipe(z.array(broker).min(1, 'must name at least one broker (host:port,...)'));

const flag = z.enum(['true', 'false'], { error: "must be 'true' or 'false'" }).transform((v) => v === 'true');
const text = z.string().min(1, 'must not be empty');

/** Loopback hosts: the one place plaintext SASL is allowed (a development broker on this machine). */
function isLoopback(hostPort: string): boolean {
  const host = hostPort.slice(0, hostPort.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The variables, as they come. Empty counts as unset. The rules between them (a mechanism needs its
 * credentials, IAM needs TLS, SASL over plaintext only to loopback) are checked after, each issue
 * naming the variable to change.
 */
const kafkaEnv = z
  .object({
    KAFKA_BROKERS: brokerList,
    KAFKA_SASL_MECHANISM: z
      .enum(KAFKA_SASL_MECHANISMS, { error: `must be one of ${KAFKA_SASL_MECHANISMS.join(', ')}` })
      .optional(),
    KAFKA_SASL_USERNAME: text.optional(),
    KAFKA_SASL_PASSWORD: text.optional(),
    KAFKA_SSL: flag.optional(),
    KAFKA_SSL_CA_FILE: text.optional(),
  })
  .superRefine((env, ctx) => {
    const issue = (variable: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [variable], message });
    const scram = env.KAFKA_SASL_MECHANISM?.startsWith('scram-') === true;
    if (scram) {
      if (env.KAFKA_SASL_USERNAME === undefined)
        issue('KAFKA_SASL_USERNAME', `is required with ${env.KAFKA_SASL_MECHANISM}`);
      if (env.KAFKA_SASL_PASSWORD === undefined)
        issue('KAFKA_SASL_PASSWORD', `is required with ${env.KAFKA_SASL_MECHANISM}`);
    } else {
      for (const variable of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
        if (env[variable] !== undefined) {
          issue(
            variable,
            `is set, but KAFKA_SASL_MECHANISM is ${env.KAFKA_SASL_MECHANISM ?? 'not'}: set it to a scram mechanism`,
          );
        }
      }
    }
    // MSK's IAM listener is TLS only (port 9098).
    if (env.KAFKA_SASL_MECHANISM === 'aws-msk-iam' && env.KAFKA_SSL === false) {
      issue('KAFKA_SSL', 'cannot be false with KAFKA_SASL_MECHANISM=aws-msk-iam (IAM brokers are TLS only)');
    }
    const ssl = env.KAFKA_SSL ?? env.KAFKA_SASL_MECHANISM === 'aws-msk-iam';
    if (env.KAFKA_SSL_CA_FILE !== undefined && !ssl)
      issue('KAFKA_SSL_CA_FILE', 'is set, but KAFKA_SSL is not true');
    // No credentials over plaintext, except to a broker on this machine.
    if (scram && !ssl && !env.KAFKA_BROKERS.every(isLoopback)) {
      issue(
        'KAFKA_SSL',
        `must be true to use ${env.KAFKA_SASL_MECHANISM} with brokers that are not on loopback`,
      );
    }
  });

/** The variables {@link parseKafkaConnection} reads, in the order the README lists them. */
export const KAFKA_ENV_VARIABLES = Object.keys(kafkaEnv.shape) as Array<keyof typeof kafkaEnv.shape>;

/**
 * Parses the Kafka connection from `env`: `KAFKA_BROKERS` (required here; a function on MSK is given its
 * brokers from the cluster instead, as `brokers`), `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`,
 * `KAFKA_SASL_PASSWORD`, `KAFKA_SSL`, `KAFKA_SSL_CA_FILE`.
 *
 * @throws SchemaValidationError naming every variable that is wrong, and why
 */
export function parseKafkaConnection(
  env: Readonly<Record<string, string | undefined>>,
  brokers?: readonly string[],
): KafkaConnection {
  const given = Object.fromEntries(
    KAFKA_ENV_VARIABLES.map((name) => [name, env[name] === '' ? undefined : env[name]] as const).filter(
      ([, value]) => value !== undefined,
    ),
  );
  if (brokers !== undefined) given.KAFKA_BROKERS = brokers.join(',');
  const parsed = parseWith(kafkaEnv, given, 'Kafka settings');
  const mechanism = parsed.KAFKA_SASL_MECHANISM;
  const ssl = parsed.KAFKA_SSL ?? mechanism === 'aws-msk-iam';
  return {
    brokers: parsed.KAFKA_BROKERS,
    ssl: ssl ? (parsed.KAFKA_SSL_CA_FILE === undefined ? {} : { caFile: parsed.KAFKA_SSL_CA_FILE }) : false,
    ...(mechanism === undefined
      ? {}
      : {
          sasl:
            mechanism === 'aws-msk-iam'
              ? { mechanism }
              : {
                  mechanism,
                  username: parsed.KAFKA_SASL_USERNAME ?? '',
                  password: parsed.KAFKA_SASL_PASSWORD ?? '',
                },
        }),
  };
}

/** The env variables that give `connection` to a client that parses them: what the local platform passes functions. */
export function kafkaConnectionEnv(connection: KafkaConnection): Record<string, string> {
  const { sasl, ssl } = connection;
  return {
    KAFKA_BROKERS: connection.brokers.join(','),
    KAFKA_SSL: String(ssl !== false),
    ...(ssl !== false && ssl.caFile !== undefined ? { KAFKA_SSL_CA_FILE: ssl.caFile } : {}),
    ...(sasl === undefined ? {} : { KAFKA_SASL_MECHANISM: sasl.mechanism }),
    ...(sasl !== undefined && sasl.mechanism !== 'aws-msk-iam'
      ? { KAFKA_SASL_USERNAME: sasl.username, KAFKA_SASL_PASSWORD: sasl.password }
      : {}),
  };
}
