import type { HandlerEnv, HandlerRuntime } from '../../lambdas/shared/runtime.ts';
import { fixedResourceName, functionEnv, signingKeyAlias, usesOf } from '../topology/env.ts';
import type { FunctionSpec, Topology } from '../topology/model.ts';
import type { AccessKey } from './credentials.ts';
import { LOCAL_DEVICE_POLICY_NAME, LOCAL_REGION, LOCAL_STAGE, localResourceName } from './names.ts';

/** A topology function, built once and invoked like Lambda would invoke it. */
export interface LocalFunction {
  readonly name: string;
  readonly spec: FunctionSpec;
  invoke(event: unknown): Promise<unknown>;
}

/** Endpoints of the embedded servers the handlers' SDK clients point at. */
export interface LocalEndpoints {
  readonly dynamodb: string;
  readonly s3: string;
  readonly iotData: string;
  /** The loopback KMS serving the topology's signing keys. */
  readonly kms?: string;
  /**
   * The loopback IoT control plane, and what provisioning hands devices: the broker's URL and the CA
   * that signed its certificate.
   */
  readonly iot?: { readonly endpoint: string; readonly deviceEndpoint: string; readonly caPem: string };
  /** How functions reach the streams: `TOPIC_LOG_ENDPOINT` or `KAFKA_BROKERS`. */
  readonly streams?: Readonly<Record<string, string>>;
  /** The key pair a function's SDK clients sign with: its own, as each Lambda function has its own role. */
  readonly credentials: (functionName: string) => AccessKey;
}

/** Whether a function uses the IoT registry (a `things` resource): it then gets the IoT endpoints. */
function usesThings(topology: Topology, spec: FunctionSpec): boolean {
  return usesOf(topology, spec).some((use) => use.resource.kind === 'things');
}

/**
 * The env one function gets locally: its own resources' names (as in AWS, nothing it does not `use`),
 * plus the SDK's endpoint and credential variables pointing at the embedded servers.
 */
export function localFunctionEnv(
  topology: Topology,
  name: string,
  endpoints: LocalEndpoints,
  settings: Readonly<Record<string, string>> = {},
): HandlerEnv {
  const spec = topology.functions[name];
  if (spec === undefined) throw new Error(`no function '${name}' in the topology`);
  const credentials = endpoints.credentials(name);
  return {
    ...functionEnv(
      topology,
      spec,
      (name, resource) =>
        fixedResourceName(resource) ??
        (resource.kind === 'signingKey'
          ? signingKeyAlias(LOCAL_STAGE, name)
          : resource.kind === 'things'
            ? LOCAL_DEVICE_POLICY_NAME
            : localResourceName(name)),
      settings,
    ),
    STAGE: LOCAL_STAGE,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_IOT_DATA_PLANE: endpoints.iotData,
    ...(endpoints.kms === undefined ? {} : { AWS_ENDPOINT_URL_KMS: endpoints.kms }),
    ...(endpoints.iot === undefined || !usesThings(topology, spec)
      ? {}
      : {
          AWS_ENDPOINT_URL_IOT: endpoints.iot.endpoint,
          DEVICE_ENDPOINT: endpoints.iot.deviceEndpoint,
          DEVICE_CA_PEM: endpoints.iot.caPem,
        }),
    ...endpoints.streams,
  };
}

type HandlerModule = {
  build: (env: HandlerEnv, runtime: HandlerRuntime) => (event: never) => Promise<unknown>;
};

/**
 * Builds every function of the topology from its handler's `app.ts` — the same module the Lambda entry
 * (`index.ts`) builds in AWS.
 */
export async function loadFunctions(
  topology: Topology,
  endpoints: LocalEndpoints,
  runtimeFor: (functionName: string) => HandlerRuntime,
  settings: Readonly<Record<string, string>> = {},
): Promise<Map<string, LocalFunction>> {
  const functions = new Map<string, LocalFunction>();
  for (const [name, spec] of Object.entries(topology.functions)) {
    const url = new URL(`../../lambdas/handlers/${spec.handler}/app.ts`, import.meta.url);
    const module = (await import(url.href)) as HandlerModule;
    if (typeof module.build !== 'function') {
      throw new Error(`lambdas/handlers/${spec.handler}/app.ts must export build(env, runtime)`);
    }
    const handler = module.build(localFunctionEnv(topology, name, endpoints, settings), runtimeFor(name)) as (
      event: unknown,
    ) => Promise<unknown>;
    functions.set(name, { name, spec, invoke: (event) => handler(event) });
  }
  return functions;
}
