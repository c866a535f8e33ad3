import { TopicFormatError } from './errors.ts';
import { THING_NAME_PATTERN, THING_TOPIC_ROOT } from './topics.ts';

/**
 * Topics of a device's identity: AWS IoT's own CreateCertificateFromCsr MQTT API, and fleetkit's
 * certificate rotation requests on its per-thing prefix.
 *
 * CreateCertificateFromCsr is IoT Core's reserved `$aws/certificates/create-from-csr/{format}` API
 * (https://docs.aws.amazon.com/iot/latest/developerguide/fleet-provision-api.html): a device publishes a
 * CSR and hears `/accepted` or `/rejected` on the same connection only. The certificate it gets is
 * PENDING_ACTIVATION; fleetkit's `identity/activate` request, published by the device on its current
 * certificate, makes it ACTIVE and attaches it to the thing; `identity/confirm`, published on the new
 * certificate, retires the old one.
 */

/** Where a device publishes a CSR (JSON payload format). */
export const CREATE_FROM_CSR_TOPIC = '$aws/certificates/create-from-csr/json';
/** The answer with the new certificate. */
export const CREATE_FROM_CSR_ACCEPTED_TOPIC = `${CREATE_FROM_CSR_TOPIC}/accepted`;
/** The answer when no certificate was made. */
export const CREATE_FROM_CSR_REJECTED_TOPIC = `${CREATE_FROM_CSR_TOPIC}/rejected`;

/** Requests a device makes about its identity; each is answered on `/accepted` or `/rejected`. */
export const IDENTITY_OPERATIONS = ['get', 'activate', 'confirm'] as const;
export type IdentityOperation = (typeof IDENTITY_OPERATIONS)[number];
export type IdentityTopicSuffix = 'accepted' | 'rejected';

/** An identity topic: a request or its answer, or `notify` (the platform asks the device to check). */
export type IdentityTopic =
  | {
      readonly thingName: string;
      readonly operation: IdentityOperation;
      readonly suffix?: IdentityTopicSuffix;
    }
  | { readonly thingName: string; readonly operation: 'notify' };

/** `fleet/things/{thing}/identity/{get|activate|confirm}[/accepted|/rejected]` or `.../identity/notify`. */
export function identityTopic(topic: IdentityTopic): string {
  if (!THING_NAME_PATTERN.test(topic.thingName)) {
    throw new TopicFormatError(
      topic.thingName,
      `is not a valid thing name (expected ${THING_NAME_PATTERN.source})`,
    );
  }
  const base = `${THING_TOPIC_ROOT}/${topic.thingName}/identity/${topic.operation}`;
  if (topic.operation === 'notify') return base;
  if (!(IDENTITY_OPERATIONS as readonly string[]).includes(topic.operation)) {
    throw new TopicFormatError(topic.operation, 'is not an identity operation');
  }
  return topic.suffix === undefined ? base : `${base}/${topic.suffix}`;
}

/** Parses an identity request topic (no suffix), or throws {@link TopicFormatError}. */
export function parseIdentityRequestTopic(topic: string): {
  readonly thingName: string;
  readonly operation: IdentityOperation;
} {
  const parts = topic.split('/');
  if (parts.length !== 5 || parts[0] !== 'fleet' || parts[1] !== 'things' || parts[3] !== 'identity') {
    throw new TopicFormatError(topic, `is not ${THING_TOPIC_ROOT}/{thing}/identity/{operation}`);
  }
  const thingName = parts[2] ?? '';
  const operation = parts[4] ?? '';
  if (!THING_NAME_PATTERN.test(thingName)) throw new TopicFormatError(topic, 'has an invalid thing name');
  if (!(IDENTITY_OPERATIONS as readonly string[]).includes(operation)) {
    throw new TopicFormatError(
      topic,
      `has '${operation}', expected one of ${IDENTITY_OPERATIONS.join(', ')}`,
    );
  }
  return { thingName, operation: operation as IdentityOperation };
}
