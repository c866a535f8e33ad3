import * as z from 'zod';
import { TopicFormatError } from './errors.ts';
import { deviceType, epochMillis } from './messages.ts';
import { THING_NAME_PATTERN } from './topics.ts';

/**
 * Provisioning by claim: AWS IoT fleet provisioning's MQTT API and its pre-provisioning hook
 * (https://docs.aws.amazon.com/iot/latest/developerguide/provision-wo-cert.html).
 *
 * A device leaves the factory with a shared claim certificate. It connects with it, makes its own key and
 * CSR, asks CreateCertificateFromCsr (`$aws/certificates/create-from-csr/json`) for a certificate, and
 * RegisterThing (`$aws/provisioning-templates/{templateName}/provision/json`) for a thing: the template's
 * pre-provisioning hook admits the serial number only if an operator put it on the allow-list. Both
 * answers reach the asking connection only.
 */

/** Provisioning template names, as IoT allows them (CreateProvisioningTemplate). */
export const PROVISIONING_TEMPLATE_NAME_PATTERN = /^[0-9A-Za-z_-]{1,36}$/;

/**
 * The client ids a claim certificate may connect with. Not a thing name: IoT Core drops the older of two
 * connections with one client id, so a claim certificate free to pick any id could knock a device off.
 * Serial numbers (which become thing names) may not start with it.
 */
export const CLAIM_CLIENT_ID_PREFIX = 'claim-';

/** The RegisterThing parameters fleetkit's template reads. */
export const CLAIM_PARAMETERS = {
  /** The device's serial number, sent by the device; it becomes the thing name. */
  serialNumber: 'SerialNumber',
  /** The thing type: set by the hook from the allow-list (`parameterOverrides`), whatever the device sent. */
  deviceType: 'DeviceType',
} as const;

/** The `deviceConfiguration` key that tells the device its thing type. */
export const DEVICE_CONFIGURATION_THING_TYPE = 'thingType';

/** `$aws/provisioning-templates/{templateName}/provision/json`. */
export function registerThingTopic(templateName: string): string {
  if (!PROVISIONING_TEMPLATE_NAME_PATTERN.test(templateName)) {
    throw new TopicFormatError(templateName, 'is not a provisioning template name ([0-9A-Za-z_-]{1,36})');
  }
  return `$aws/provisioning-templates/${templateName}/provision/json`;
}

/** The template a RegisterThing request topic names, or undefined for any other topic. */
export function registerThingTemplate(topic: string): string | undefined {
  const match = /^\$aws\/provisioning-templates\/([^/]+)\/provision\/json$/.exec(topic);
  const name = match?.[1];
  return name !== undefined && PROVISIONING_TEMPLATE_NAME_PATTERN.test(name) ? name : undefined;
}

/** A serial number: a thing name (it becomes one) outside the claim certificates' client ids. */
export const serialNumber = z
  .string()
  .regex(THING_NAME_PATTERN, 'must be 1-128 characters of [a-zA-Z0-9:_-] (it becomes the thing name)')
  .refine((s) => !s.startsWith(CLAIM_CLIENT_ID_PREFIX), {
    message: `must not start with '${CLAIM_CLIENT_ID_PREFIX}' (the claim certificates' client ids)`,
  });

/** RegisterThing parameters: strings both ways (keys up to 2048, values up to 4096 characters, as IoT's). */
const parameters = z.record(z.string().max(2048), z.string().max(4096));

/** RegisterThing request payload. */
export const registerThingRequest = z.object({
  /** From CreateCertificateFromCsr; proves the device holds the new certificate. Valid one hour. */
  certificateOwnershipToken: z.string(),
  parameters: parameters.optional(),
});
export type RegisterThingRequest = z.output<typeof registerThingRequest>;

/** RegisterThing `/accepted` payload. */
export const registerThingResponse = z.object({
  thingName: z.string().regex(THING_NAME_PATTERN),
  /** The template's `DeviceConfiguration`, resolved: fleetkit's says the thing type. */
  deviceConfiguration: z.record(z.string(), z.string()).default({}),
});
export type RegisterThingResponse = z.output<typeof registerThingResponse>;

/** What IoT sends the pre-provisioning hook (payload version 2020-04-01). */
export const preProvisioningHookEvent = z.object({
  claimCertificateId: z.string().min(1),
  certificateId: z.string().min(1),
  certificatePem: z.string().min(1),
  templateArn: z.string().min(1),
  clientId: z.string(),
  parameters: parameters.default({}),
});
export type PreProvisioningHookEvent = z.output<typeof preProvisioningHookEvent>;

/** The hook's answer: provisioning proceeds only with `allowProvisioning: true`. */
export const preProvisioningHookResponse = z.object({
  allowProvisioning: z.boolean(),
  /** Added to the RegisterThing parameters, replacing the device's values of the same keys. */
  parameterOverrides: z.record(z.string(), z.string()).optional(),
});
export type PreProvisioningHookResponse = z.output<typeof preProvisioningHookResponse>;

/** `POST /devices/allow`: serial numbers the claim template may admit, and as which thing type. */
export const allowSerialsRequest = z.strictObject({
  deviceType,
  serialNumbers: z.array(serialNumber).min(1).max(500, 'must hold at most 500 serial numbers per request'),
  /**
   * Allow again serials that already provisioned (a device reset in the field): without it a used serial
   * stays used, so a copied claim certificate cannot register it a second time.
   */
  again: z.boolean().optional(),
});
export type AllowSerialsRequest = z.output<typeof allowSerialsRequest>;

/** One serial on the allow-list, as the operator and the hook see it. */
export const allowListEntry = z.object({
  serialNumber,
  deviceType,
  status: z.enum(['allowed', 'claimed']),
  allowedAt: epochMillis,
  /** The certificate RegisterThing was asked for when the hook admitted the serial. */
  claimedBy: z.string().optional(),
  claimedAt: epochMillis.optional(),
});
export type AllowListEntry = z.output<typeof allowListEntry>;

/** The answer to `POST /devices/allow`. */
export const allowSerialsResponse = z.object({
  deviceType,
  /** Allowed now (new, or allowed again). */
  allowed: z.array(z.string()),
  /** Used by a device already and not allowed again (`again` unset). */
  alreadyClaimed: z.array(z.string()),
});
export type AllowSerialsResponse = z.output<typeof allowSerialsResponse>;
