import * as z from 'zod';

/**
 * AWS IoT's lifecycle events (https://docs.aws.amazon.com/iot/latest/developerguide/life-cycle-events.html):
 * IoT Core publishes `$aws/events/presence/connected/{clientId}` and `.../disconnected/{clientId}` as
 * clients come and go, with these payloads; the local broker publishes the same. fleetkit's rule selects
 * the disconnections IoT made because a second connection came with the same client id.
 */

/** The topic of a client's disconnection event. */
export function disconnectedEventTopic(clientId: string): string {
  return `$aws/events/presence/disconnected/${clientId}`;
}

/** The topic of a client's connection event. */
export function connectedEventTopic(clientId: string): string {
  return `$aws/events/presence/connected/${clientId}`;
}

/** Why IoT Core ended a connection: the reasons fleetkit's local broker can tell. */
export const DISCONNECT_REASONS = [
  'CLIENT_INITIATED_DISCONNECT',
  'DUPLICATE_CLIENTID',
  'SERVER_INITIATED_DISCONNECT',
  'MQTT_KEEP_ALIVE_TIMEOUT',
  'CONNECTION_LOST',
] as const;

/** A `disconnected` lifecycle event (the fields fleetkit reads; IoT adds others, kept). */
export const disconnectedEvent = z.looseObject({
  clientId: z.string().min(1),
  /** Epoch ms. */
  timestamp: z.number().int().nonnegative(),
  eventType: z.literal('disconnected'),
  clientInitiatedDisconnect: z.boolean().optional(),
  sessionIdentifier: z.string().optional(),
  principalIdentifier: z.string().optional(),
  /** One of IoT's reasons; any string is kept, as IoT adds reasons. */
  disconnectReason: z.string().optional(),
  versionNumber: z.number().int().optional(),
});
export type DisconnectedEvent = z.output<typeof disconnectedEvent>;
