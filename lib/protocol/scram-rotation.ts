import * as z from 'zod';

/**
 * The event Secrets Manager sends a rotation function, once per step
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html).
 */
export const rotationEvent = z.object({
  SecretId: z.string().min(1),
  ClientRequestToken: z.string().min(32).max(64),
  Step: z.enum(['createSecret', 'setSecret', 'testSecret', 'finishSecret']),
});
export type RotationEvent = z.output<typeof rotationEvent>;

/** A SASL/SCRAM user name: what MSK and Kafka ACLs (`User:<name>`) accept. */
export const scramUsername = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 of [A-Za-z0-9._-]');

/** The value of an MSK SCRAM secret, and of the client secret IoT reads: `{"username","password"}`. */
export const scramCredentials = z.object({
  username: scramUsername,
  password: z.string().min(8).max(128),
});
export type ScramCredentials = z.output<typeof scramCredentials>;

/**
 * `SCRAM_USERS`: the two users the client secret alternates between, each with the ARN of its
 * MSK-associated secret, as JSON: `{"iot-rules-a":"arn:…","iot-rules-b":"arn:…"}`.
 */
export const scramUsersEnv = z
  .string({ error: 'SCRAM_USERS is required' })
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'SCRAM_USERS must be JSON' });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .record(scramUsername, z.string().startsWith('arn:'))
      .refine((users) => Object.keys(users).length === 2, 'SCRAM_USERS must name exactly two users'),
  );
