import * as z from 'zod';
import { deviceId, deviceType, epochMillis } from './messages.ts';
import { SHADOW_RULE_FIELDS, shadowRuleEvent } from './rule-events.ts';

/**
 * The contract of a device's identity: provisioning by CSR over the HTTP API, AWS IoT's
 * CreateCertificateFromCsr MQTT API, fleetkit's rotation requests, and revocation.
 *
 * A device makes its own ECDSA P-256 key pair and a PKCS #10 CSR; only the CSR and the certificate
 * issued for it ever cross a wire. The private key stays in the device's own directory.
 */

/**
 * An AWS IoT certificate id: the SHA-256 of the certificate's DER, 64 hex digits
 * (https://docs.aws.amazon.com/iot/latest/apireference/API_Certificate.html). fleetkit writes it in
 * lower case, as IoT reports it.
 */
export const certificateId = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');

/** CreateCertificateFromCsr takes CSRs of 1-4096 characters, PEM. */
export const csrPem = z
  .string()
  .max(4096, 'must be at most 4096 characters (CreateCertificateFromCsr limit)')
  .regex(/-----BEGIN CERTIFICATE REQUEST-----[\s\S]+-----END CERTIFICATE REQUEST-----/, 'must be a PEM CSR');

/** A certificate, PEM. */
export const certificatePem = z
  .string()
  .max(65_536)
  .regex(/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/, 'must be a PEM certificate');

/** `POST /devices`: admit one device by the CSR it made. */
export const provisionDeviceRequest = z.strictObject({
  thingName: deviceId,
  /** Must be one of the deployment's thing types (the topology's device types). */
  thingType: deviceType,
  csr: csrPem,
});
export type ProvisionDeviceRequest = z.output<typeof provisionDeviceRequest>;

/**
 * The answer to `POST /devices`: everything the device needs to connect, and nothing secret. The
 * device stores it with {@link provisionDeviceResponse} (edge `provision --install`).
 */
export const provisionDeviceResponse = z.object({
  thingName: deviceId,
  thingType: deviceType,
  certificateId,
  certificateArn: z.string().min(1).max(2048),
  certificatePem,
  /** ISO-8601. */
  notAfter: z.iso.datetime(),
  /** `mqtts://<host>:8883`: the TLS 1.3 domain configuration in AWS, the broker locally. */
  endpoint: z.url({ protocol: /^mqtts$/, error: 'must be an mqtts:// URL' }),
  /** The CA that signs the endpoint's server certificate, PEM, when the platform has it. */
  caPem: certificatePem.optional(),
  /** Where to fetch that CA otherwise (AWS: Amazon Root CA 1). */
  caUrl: z.url().optional(),
});
export type ProvisionDeviceResponse = z.output<typeof provisionDeviceResponse>;

/**
 * `POST /devices/rotate`: ask devices to rotate their certificates now. They hear it on
 * `identity/notify`, or ask on their next connection (`identity/get`).
 */
export const rotateDevicesRequest = z
  .strictObject({
    deviceIds: z
      .array(deviceId)
      .min(1)
      .max(500, 'must hold at most 500 devices; select a device type for more')
      .optional(),
    deviceType: deviceType.optional(),
  })
  .refine((r) => r.deviceIds !== undefined || r.deviceType !== undefined, {
    message: 'must select deviceIds or a deviceType',
  });
export type RotateDevicesRequest = z.output<typeof rotateDevicesRequest>;

/** `POST /devices/{id}/revoke`: every certificate of the device, or only `certificateId`. */
export const revokeDeviceRequest = z.strictObject({
  certificateId: certificateId.optional(),
  reason: z.string().min(1).max(256).optional(),
});
export type RevokeDeviceRequest = z.output<typeof revokeDeviceRequest>;

/** CreateCertificateFromCsr request payload (`$aws/certificates/create-from-csr/json`). */
export const createCertificateFromCsrRequest = z.object({ certificateSigningRequest: csrPem });

/** CreateCertificateFromCsr `/accepted` payload: the certificate is PENDING_ACTIVATION. */
export const createCertificateFromCsrResponse = z.object({
  certificateId,
  certificatePem,
  /** Opaque; AWS's RegisterThing takes it (fleet provisioning). Rotation names the certificate by id. */
  certificateOwnershipToken: z.string().min(1),
});
export type CreateCertificateFromCsrResponse = z.output<typeof createCertificateFromCsrResponse>;

/** The `/rejected` payload of IoT Core's provisioning MQTT API (ErrorResponse in the device SDKs). */
export const provisioningErrorResponse = z.object({
  statusCode: z.number().int(),
  errorCode: z.string(),
  errorMessage: z.string(),
});
export type ProvisioningErrorResponse = z.output<typeof provisioningErrorResponse>;

const clientToken = z.string().min(1).max(64).optional();

/** `identity/get`: what the platform knows of the device's certificates, and whether to rotate. */
export const identityGetRequest = z.object({ clientToken });
/** `identity/activate`: make a certificate from CreateCertificateFromCsr usable by this thing. */
export const identityActivateRequest = z.object({ certificateId, clientToken });
/** `identity/confirm`: published on the new certificate once connected with it; retires the others. */
export const identityConfirmRequest = z.object({ certificateId, clientToken });

/** `identity/get/accepted`. */
export const identityGetAccepted = z.object({
  /** The certificate the platform counts as current (the last confirmed). */
  certificateId: certificateId.optional(),
  /** True while an operator's rotation request is unanswered. */
  rotationRequested: z.boolean(),
  requestedAt: epochMillis.optional(),
  clientToken,
});
export type IdentityGetAccepted = z.output<typeof identityGetAccepted>;

/** `identity/activate/accepted`. */
export const identityActivateAccepted = z.object({
  certificateId,
  status: z.literal('ACTIVE'),
  clientToken,
});

/** `identity/confirm/accepted`: the certificates deactivated because this one was confirmed. */
export const identityConfirmAccepted = z.object({
  certificateId,
  retired: z.array(certificateId),
  clientToken,
});

/** `identity/{operation}/rejected`. */
export const identityRejected = z.object({
  code: z.enum(['InvalidRequest', 'NotFound', 'Conflict', 'Forbidden', 'InternalError']),
  message: z.string(),
  clientToken,
});
export type IdentityRejected = z.output<typeof identityRejected>;

/** `identity/notify`: an operator asked for a rotation. */
export const identityNotify = z.object({ rotationRequested: z.literal(true), requestedAt: epochMillis });

/**
 * The event the identity rule delivers: a thing request's (see {@link shadowRuleEvent}) plus the
 * certificate the request came in on (`principal()`: the certificate id of an X.509 connection,
 * https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html#iot-function-principal).
 */
export const identityRuleEvent = shadowRuleEvent.extend({ principal: z.string().min(1).max(256) });
export type IdentityRuleEvent = z.output<typeof identityRuleEvent>;

/** The SQL functions that fill {@link identityRuleEvent}'s fields. */
export const IDENTITY_RULE_FIELDS = { ...SHADOW_RULE_FIELDS, principal: 'principal()' } as const;

/** A device rotates its certificate once this share of the certificate's validity has passed. */
export const ROTATE_AT_FRACTION = 0.8;

/**
 * When a certificate valid from `notBefore` to `notAfter` (epoch ms) is due for rotation: early enough
 * that a device offline for a while still rotates before expiry.
 */
export function rotationDueAt(notBefore: number, notAfter: number, fraction = ROTATE_AT_FRACTION): number {
  return notBefore + Math.floor((notAfter - notBefore) * fraction);
}
