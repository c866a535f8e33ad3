import type { IoTClient } from '@aws-sdk/client-iot';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoCertificateStore } from '../adapters/dynamo-certificate-store.ts';
import { DynamoDeviceIdentity } from '../adapters/dynamo-device-identity.ts';
import { IotThingRegistry } from '../adapters/iot-thing-registry.ts';
import { type HandlerEnv, requireEnv } from '../shared/runtime.ts';
import type { DeviceEndpoint } from './identity-service.ts';

/** Amazon Root CA 1: the CA of IoT Core's ATS endpoints and AWS-managed domain configurations. */
export const AMAZON_ROOT_CA_1_URL = 'https://www.amazontrust.com/repository/AmazonRootCA1.pem';

/** The identity ports from the clients a handler created once, and its env. */
export function identityPortsFrom(deps: {
  readonly dynamo: DynamoDBDocumentClient;
  readonly iot: IoTClient;
  readonly env: HandlerEnv;
}) {
  const { dynamo, iot, env } = deps;
  return {
    things: new IotThingRegistry({ client: iot, devicePolicyName: requireEnv(env, 'THINGS_POLICY_NAME') }),
    certificates: new DynamoCertificateStore({
      client: dynamo,
      tableName: requireEnv(env, 'CERTIFICATES_TABLE_NAME'),
    }),
  };
}

/** The registry's identity attributes (functions that use the registry). */
export function deviceIdentityFrom(dynamo: DynamoDBDocumentClient, env: HandlerEnv): DynamoDeviceIdentity {
  return new DynamoDeviceIdentity({ client: dynamo, tableName: requireEnv(env, 'REGISTRY_TABLE_NAME') });
}

/**
 * Where devices connect (`DEVICE_ENDPOINT`: the TLS 1.3 domain configuration in AWS, the broker
 * locally) and the CA they trust for it (`DEVICE_CA_PEM` locally, Amazon Root CA 1 in AWS).
 */
export function deviceEndpointFrom(env: HandlerEnv): DeviceEndpoint {
  const host = requireEnv(env, 'DEVICE_ENDPOINT');
  const url = host.includes('://') ? host : `mqtts://${host}:8883`;
  const caPem = env.DEVICE_CA_PEM;
  return caPem ? { url, caPem } : { url, caUrl: env.DEVICE_CA_URL || AMAZON_ROOT_CA_1_URL };
}

/** `CERTIFICATE_GRACE_HOURS`: how long a retired certificate waits for deletion. */
export function certificateGraceMs(env: HandlerEnv): number {
  const raw = env.CERTIFICATE_GRACE_HOURS ?? '24';
  const hours = Number(raw);
  if (!Number.isFinite(hours) || hours < 0 || hours > 24 * 90) {
    throw new Error(`setting CERTIFICATE_GRACE_HOURS must be 0 to 2160 hours, got '${raw}'`);
  }
  return hours * 3_600_000;
}
