import { platformDeviceCredentials } from '../../lib/local/iot/platform-credentials.ts';
import { LocalIotRegistry } from '../../lib/local/iot/registry.ts';
import { LOCAL_DEVICE_POLICY_NAME, LOCAL_REGION } from '../../lib/local/names.ts';
import type { DeviceCredentials, LocalPki } from '../../lib/local/pki.ts';
import { LOCAL_ACCOUNT_ID } from '../../lib/local/signing-keys.ts';
import { DEVICE_PERMISSIONS } from '../../lib/protocol/device-policy.ts';

/** A local IoT registry for a broker started on its own, as the platform opens it. */
export async function openTestRegistry(
  dataDir: string,
  pki: LocalPki,
): Promise<{
  registry: LocalIotRegistry;
  /** Platform-made credentials of a thing, registered and attached (the factory path). */
  credentials: (thingName: string, thingType: string) => Promise<DeviceCredentials>;
}> {
  const registry = await LocalIotRegistry.open({
    dataDir,
    pki,
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    policies: { [LOCAL_DEVICE_POLICY_NAME]: DEVICE_PERMISSIONS },
  });
  return {
    registry,
    credentials: (thingName, thingType) =>
      platformDeviceCredentials(registry, pki, thingName, thingType, LOCAL_DEVICE_POLICY_NAME),
  };
}
