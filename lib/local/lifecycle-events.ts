import { randomUUID } from 'node:crypto';
import type { Client } from 'aedes';
import { connectedEventTopic, disconnectedEventTopic } from '../protocol/lifecycle-events.ts';

type Reason =
  | 'DUPLICATE_CLIENTID'
  | 'SERVER_INITIATED_DISCONNECT'
  | 'MQTT_KEEP_ALIVE_TIMEOUT'
  | 'CONNECTION_LOST';

/**
 * IoT Core's presence lifecycle events for the local broker
 * (https://docs.aws.amazon.com/iot/latest/developerguide/life-cycle-events.html): `connected` and
 * `disconnected` per client, with IoT's payload fields — a session id per connection, the certificate id
 * as principal, a version number per client id that grows with each event, and the disconnect reason.
 * The broker says why it is about to close a connection ({@link closing}); one closed for no reason it
 * gave was closed by the client (`CLIENT_INITIATED_DISCONNECT`: a DISCONNECT packet, or a socket closed
 * without one — aedes does not tell the two apart without reading its private state).
 */
export function lifecycleEvents(publish: (topic: string, payload: Buffer) => void, now: () => number) {
  const sessions = new WeakMap<Client, string>();
  const reasons = new WeakMap<Client, Reason>();
  const versions = new Map<string, number>();
  const emit = (topic: string, clientId: string, event: Record<string, unknown>) => {
    const versionNumber = versions.get(clientId) ?? 0;
    versions.set(clientId, versionNumber + 1);
    publish(topic, Buffer.from(JSON.stringify({ clientId, timestamp: now(), ...event, versionNumber })));
  };
  return {
    /** Why the broker is closing `client`; the first reason given stands. */
    closing(client: Client, reason: Reason): void {
      if (!reasons.has(client)) reasons.set(client, reason);
    },
    connected(client: Client, principal: string): void {
      const sessionIdentifier = randomUUID();
      sessions.set(client, sessionIdentifier);
      emit(connectedEventTopic(client.id), client.id, {
        eventType: 'connected',
        sessionIdentifier,
        principalIdentifier: principal,
      });
    },
    disconnected(client: Client, principal: string): void {
      const reason = reasons.get(client);
      emit(disconnectedEventTopic(client.id), client.id, {
        eventType: 'disconnected',
        sessionIdentifier: sessions.get(client) ?? randomUUID(),
        principalIdentifier: principal,
        clientInitiatedDisconnect: reason === undefined,
        disconnectReason: reason ?? 'CLIENT_INITIATED_DISCONNECT',
      });
    },
  };
}
