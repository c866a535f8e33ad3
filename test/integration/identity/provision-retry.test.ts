import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTClient } from '@aws-sdk/client-iot';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCertificateStore } from '../../../lambdas/adapters/dynamo-certificate-store.ts';
import { DynamoDeviceIdentity } from '../../../lambdas/adapters/dynamo-device-identity.ts';
import { IotThingRegistry } from '../../../lambdas/adapters/iot-thing-registry.ts';
import type { ThingRegistry } from '../../../lambdas/domain/identity/ports.ts';
import { IdentityService } from '../../../lambdas/services/identity-service.ts';
import { LOCAL_DEVICE_POLICY_NAME, LOCAL_REGION, localResourceName } from '../../../lib/local/names.ts';
import { makeCsr } from '../../support/csr.ts';
import { startTestPlatform, type TestPlatform } from '../../support/platform.ts';

/**
 * Provisioning has no transaction across IoT and DynamoDB: a request that fails after any step is
 * finished by repeating it, with the certificate the first attempt made. The failure is injected by a
 * wrapper around the real adapter (the local control plane cannot be made to fail half-way).
 */

let t: TestPlatform;
let iot: IoTClient;
let dynamo: DynamoDBDocumentClient;

beforeAll(async () => {
  t = await startTestPlatform();
  const { accessKeyId, secretAccessKey } = t.platform.credentials;
  const config = { region: LOCAL_REGION, credentials: { accessKeyId, secretAccessKey } };
  iot = new IoTClient({ ...config, endpoint: t.platform.iotEndpoint });
  dynamo = DynamoDBDocumentClient.from(
    new DynamoDBClient({ ...config, endpoint: t.platform.dynamoEndpoint }),
    {
      marshallOptions: { removeUndefinedValues: true },
    },
  );
});

afterAll(async () => {
  iot.destroy();
  dynamo.destroy();
  await t.dispose();
});

/** The real registry, failing the first call of one step, counting the certificates it makes. */
function failingOnce(step: keyof ThingRegistry, made: { count: number }): ThingRegistry {
  const real = new IotThingRegistry({ client: iot, devicePolicyName: LOCAL_DEVICE_POLICY_NAME });
  let failed = false;
  return new Proxy(real, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (name === 'createCertificateFromCsr') made.count++;
        if (name === step && !failed) {
          failed = true;
          throw new Error(`injected failure in ${String(step)}`);
        }
        return value.apply(target, args);
      };
    },
  });
}

function service(things: ThingRegistry): IdentityService {
  return new IdentityService({
    things,
    certificates: new DynamoCertificateStore({
      client: dynamo,
      tableName: localResourceName('certificates'),
    }),
    devices: new DynamoDeviceIdentity({ client: dynamo, tableName: localResourceName('registry') }),
    publisher: { publish: async () => {} },
    endpoint: { url: t.platform.mqttUrl, caPem: t.platform.pki.caPem },
    now: Date.now,
  });
}

describe('a provisioning request that failed half-way', () => {
  it.each<keyof ThingRegistry>(['attachDevicePolicy', 'attachToThing'])(
    'is finished by repeating it after a failure in %s, with the one certificate made',
    async (step) => {
      // Prepare
      const thingName = `retry-${step}`;
      const { csrPem } = await makeCsr(`CN=${thingName}`);
      const made = { count: 0 };
      const flaky = service(failingOnce(step, made));
      const request = { thingName, thingType: 'tracker', csr: csrPem };

      // Act
      await expect(flaky.provision(request)).rejects.toThrow(/injected failure/);
      const answer = await flaky.provision(request);

      // Assess
      const certificates = await new DynamoCertificateStore({
        client: dynamo,
        tableName: localResourceName('certificates'),
      }).forDevice(thingName);
      expect(made.count).toBe(1);
      expect(certificates.map((c) => c.certificateId)).toEqual([answer.certificateId]);
      expect(t.platform.iot.listThingPrincipals(thingName).principals).toEqual([answer.certificateArn]);
      expect(t.platform.iot.listAttachedPolicies(answer.certificateArn).policies).toHaveLength(1);
      expect(certificates[0]).toMatchObject({ status: 'ACTIVE', origin: 'provisioned' });
      expect(certificates[0]?.confirmedAt).toBeTypeOf('number');
    },
  );
});
