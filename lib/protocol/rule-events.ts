import * as z from 'zod';
import { deviceId, deviceType, epochMillis } from './messages.ts';

/**
 * The event an IoT topic rule on `devices/{type}/{id}/...` delivers to its function.
 *
 * The rule selects the raw payload as base64 (`encode(*, 'base64')`) rather than `SELECT *`, so that a
 * payload that is not JSON still reaches the handler and is refused there with a reason, instead of
 * failing inside the rules engine where the device never hears why. The other fields come from the
 * rule's SQL functions (`topic(2)`, `topic(3)`, `clientid()`, `timestamp()`); see `lib/topology.ts`.
 */
export const deviceRuleEvent = z.object({
  payload: z.base64('must be the base64 payload selected by the rule'),
  deviceType,
  deviceId,
  clientId: z.string().min(1).max(128),
  receivedAt: epochMillis,
});
export type DeviceRuleEvent = z.output<typeof deviceRuleEvent>;

/** The SQL functions that fill {@link deviceRuleEvent}'s fields, for a `devices/{type}/{id}/...` filter. */
export const DEVICE_RULE_FIELDS = {
  deviceType: 'topic(2)',
  deviceId: 'topic(3)',
  clientId: 'clientid()',
  receivedAt: 'timestamp()',
} as const;

/**
 * The event the shadow rules deliver: the request's raw payload (base64, so invalid JSON still reaches
 * the handler and is answered with AWS's "Invalid JSON"), the full topic (the handler parses thing,
 * shadow and operation from it), and `newuuid()`, which stays the same when Lambda redelivers the event
 * and so makes retried deliveries idempotent.
 */
export const shadowRuleEvent = z.object({
  payload: z.base64(),
  topic: z.string().min(1).max(256),
  clientId: z.string().max(128),
  receivedAt: epochMillis,
  requestId: z.uuid(),
});
export type ShadowRuleEvent = z.output<typeof shadowRuleEvent>;

/** The SQL functions that fill {@link shadowRuleEvent}'s fields. */
export const SHADOW_RULE_FIELDS = {
  topic: 'topic()',
  clientId: 'clientid()',
  receivedAt: 'timestamp()',
  requestId: 'newuuid()',
} as const;

/** The jobs rules deliver the same event as the shadow rules: a device request on a thing topic. */
export const thingRequestEvent = shadowRuleEvent;
export const THING_REQUEST_RULE_FIELDS = SHADOW_RULE_FIELDS;
