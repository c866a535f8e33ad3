import type { CertifiedKey, DeviceCredentials, LocalPki } from '../pki.ts';
import type { LocalIotRegistry } from './registry.ts';

/**
 * A device's credentials made by the platform: the simulated fleet's and the tests' factory path, the
 * local counterpart of IoT's CreateKeysAndCertificate. The local CA makes the key pair and certificate
 * (kept under `<dataDir>/pki/devices/`), and the certificate is registered ACTIVE with `policyName`
 * attached and attached to the thing exclusively; the thing type is created if missing. Idempotent:
 * the same credentials come back while they are valid.
 *
 * Devices that make their own keys use `POST /devices` with a CSR instead, and their keys never reach
 * the platform.
 */
export async function platformDeviceCredentials(
  registry: LocalIotRegistry,
  pki: LocalPki,
  thingName: string,
  thingType: string,
  policyName: string,
): Promise<DeviceCredentials> {
  const credentials = await pki.deviceCredentials(thingName, thingType);
  if (!registry.hasThingType(thingType)) await registry.createThingType(thingType);
  await registry.createThing(thingName, thingType);
  const { certificateArn } = await registry.registerCertificate(credentials.certPem, 'ACTIVE');
  await registry.attachPolicy(policyName, certificateArn);
  await registry.attachThingPrincipal(thingName, certificateArn, 'EXCLUSIVE_THING');
  return credentials;
}

/**
 * The claim certificate of a provisioning template, registered ACTIVE with the template's claim policy
 * attached and attached to no thing: what an operator makes once per production run in AWS
 * (CreateCertificateFromCsr, AttachPolicy of `fleetkit-<stage>-<template>-claim`). Idempotent.
 */
export async function platformClaimCredentials(
  registry: LocalIotRegistry,
  pki: LocalPki,
  template: string,
  claimPolicyName: string,
): Promise<CertifiedKey & { caPem: string }> {
  const credentials = await pki.claimCredentials(template);
  const { certificateArn } = await registry.registerCertificate(credentials.certPem, 'ACTIVE');
  await registry.attachPolicy(claimPolicyName, certificateArn);
  return credentials;
}
