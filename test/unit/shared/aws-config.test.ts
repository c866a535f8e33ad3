import { describe, expect, it } from 'vitest';
import { type AwsClientConfig, aws } from '../../../lambdas/shared/aws-config.ts';
import type { HandlerEnv } from '../../../lambdas/shared/runtime.ts';

describe("aws(env, 'DYNAMODB')", () => {
  it.each<[string, HandlerEnv, AwsClientConfig]>([
    ['nothing set: the SDK defaults, as in Lambda without endpoint overrides', {}, {}],
    ['the region from AWS_REGION', { AWS_REGION: 'eu-west-1' }, { region: 'eu-west-1' }],
    [
      'the region from AWS_DEFAULT_REGION',
      { AWS_DEFAULT_REGION: 'eu-central-1' },
      { region: 'eu-central-1' },
    ],
    [
      'AWS_REGION over AWS_DEFAULT_REGION',
      { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-east-1' },
      { region: 'eu-west-1' },
    ],
    [
      'the global endpoint',
      { AWS_ENDPOINT_URL: 'http://127.0.0.1:4000' },
      { endpoint: 'http://127.0.0.1:4000' },
    ],
    [
      'the service-specific endpoint over the global one',
      { AWS_ENDPOINT_URL: 'http://127.0.0.1:4000', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:4567' },
      { endpoint: 'http://127.0.0.1:4567' },
    ],
    [
      "the global endpoint, not another service's",
      { AWS_ENDPOINT_URL: 'http://127.0.0.1:4000', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4568' },
      { endpoint: 'http://127.0.0.1:4000' },
    ],
    ['no endpoint from another service only', { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4568' }, {}],
    ['no credentials with only the key id', { AWS_ACCESS_KEY_ID: 'AKIDLOCAL' }, {}],
    ['no credentials with only the secret', { AWS_SECRET_ACCESS_KEY: 'secret' }, {}],
    [
      'no credentials with an empty secret',
      { AWS_ACCESS_KEY_ID: 'AKIDLOCAL', AWS_SECRET_ACCESS_KEY: '' },
      {},
    ],
    [
      'credentials when both key variables are set',
      { AWS_ACCESS_KEY_ID: 'AKIDLOCAL', AWS_SECRET_ACCESS_KEY: 'secret' },
      { credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'secret' } },
    ],
    [
      'the session token passed through',
      { AWS_ACCESS_KEY_ID: 'ASIATEMP', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token' },
      { credentials: { accessKeyId: 'ASIATEMP', secretAccessKey: 'secret', sessionToken: 'token' } },
    ],
    ['no credentials from a session token alone', { AWS_SESSION_TOKEN: 'token' }, {}],
    [
      'everything together, as the local platform sets it',
      {
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:4567',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      },
      {
        region: 'us-east-1',
        endpoint: 'http://127.0.0.1:4567',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      },
    ],
  ])('gives %s', (_rule, env, expected) => {
    expect(aws(env, 'DYNAMODB')).toStrictEqual(expected);
  });
});
