import type { HandlerEnv } from './runtime.ts';

/** The parts of an AWS SDK v3 client config that come from the environment. */
export interface AwsClientConfig {
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * Client config from a handler's env, using the SDK's own variable names: `AWS_REGION`,
 * `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL` and the `AWS_*` credential variables.
 *
 * In Lambda the endpoint variables are unset, so clients use AWS's endpoints; the local platform sets
 * them to its embedded servers. Only endpoints and credentials differ — never code paths.
 *
 * @param service the SDK's service id for the endpoint variable, e.g. `DYNAMODB`, `S3`, `IOT_DATA_PLANE`
 */
export function aws(env: HandlerEnv, service: string): AwsClientConfig {
  const config: AwsClientConfig = {};
  // `||`, not `??`: an empty variable counts as unset.
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (region) config.region = region;
  const endpoint = env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL;
  if (endpoint) config.endpoint = endpoint;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    config.credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
  }
  return config;
}
