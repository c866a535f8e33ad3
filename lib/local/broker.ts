import type { AddressInfo } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { compileDevicePolicy, type DeviceAction } from '../protocol/device-policy.ts';
import type { Identification } from './iot/registry.ts';
import type { CertificateStatus } from './iot/state.ts';
import { lifecycleEvents } from './lifecycle-events.ts';
import type { LocalPki } from './pki.ts';

/** IoT Core's largest message payload (https://docs.aws.amazon.com/general/latest/gr/iot-core.html). */
export const MAX_PAYLOAD_BYTES = 128 * 1024;

/** A message that passed authorization, as the rules engine sees it. */
export interface BrokerMessage {
  readonly topic: string;
  readonly payload: Buffer;
  /** Empty for messages published by the platform itself (as IoT Core's data plane does). */
  readonly clientId: string;
  /** The certificate id the client connected with (`principal()`); empty for the platform's messages. */
  readonly principal: string;
  readonly receivedAt: number;
}

/** Who a client is: the IoT registry (`LocalIotRegistry`), consulted on every CONNECT. */
export interface DeviceDirectory {
  identify(certificateDer: Uint8Array, clientId: string): Identification;
  /** Called when a certificate leaves ACTIVE: its live connections are dropped. */
  onCertificateDeactivated(listener: (certificateId: string, status: CertificateStatus) => void): void;
}

/**
 * One of IoT Core's reserved request/response APIs (CreateCertificateFromCsr, ...): the answer goes to
 * the connection that asked and nowhere else, as IoT Core does.
 */
export interface ReservedApi {
  matches(topic: string): boolean;
  answer(request: {
    topic: string;
    payload: Buffer;
    clientId: string;
    /** The certificate id the client connected with. */
    principal: string;
  }): Promise<{ topic: string; payload: string }>;
}

/** Something the policy refused: for the log, the counters and the tests. */
export interface DenialEvent {
  readonly clientId: string;
  readonly action: DeviceAction | 'Authenticate';
  readonly resource: string;
  readonly reason: string;
}

export interface BrokerOptions {
  readonly pki: LocalPki;
  readonly directory: DeviceDirectory;
  /** @default none */
  readonly reservedApis?: readonly ReservedApi[];
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 8883 */
  readonly port?: number;
  readonly onDenied?: (event: DenialEvent) => void;
  readonly now?: () => number;
}

/** The running broker. */
export interface LocalBroker {
  readonly port: number;
  /** Publishes as the platform (no client), like IoT Core's data plane Publish. */
  publish(topic: string, payload: Buffer | string, qos?: 0 | 1): Promise<void>;
  /** Calls `listener` for every authorized message from a client or the platform. */
  onMessage(listener: (message: BrokerMessage) => void): void;
  close(): Promise<void>;
}

function refuse(message: string): AuthenticateError {
  // MQTT 3.1.1 §3.2.2.3 return code 5: "Connection Refused, not authorized".
  return Object.assign(new Error(message), { returnCode: 5 }) as AuthenticateError;
}

/** The DER of the client certificate the TLS layer verified against the local CA, if any. */
function verifiedCertificate(client: Client): Buffer | undefined {
  const socket = client.conn as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined;
  const raw = socket.getPeerCertificate().raw;
  return raw === undefined || raw.length === 0 ? undefined : raw;
}

/**
 * An aedes MQTT 3.1.1 broker on TLS 1.3 only (no plaintext listener), with mutual TLS and the device policy of
 * `lib/protocol/device-policy.ts` enforced on connect, publish, subscribe and delivery — the same
 * rules the IoT policy enforces in AWS. On CONNECT the IoT registry says who the client is: its
 * certificate must be registered and ACTIVE, the policies attached to it are what it may do, and the
 * client id names its thing (a certificate not attached to that thing may not connect as it). As in
 * IoT Core: an unauthorized PUBLISH closes the connection (MQTT 3.1.1 has no negative PUBACK); an
 * unauthorized SUBSCRIBE is answered with SUBACK 0x80; messages it may not receive are not delivered;
 * a certificate that leaves ACTIVE (revoked, deactivated) loses its live connections at once. IoT's
 * lifecycle events (`$aws/events/presence/...`) are published as clients come and go.
 */
export async function startBroker(options: BrokerOptions): Promise<LocalBroker> {
  const now = options.now ?? Date.now;
  const policies = new WeakMap<Client, ReturnType<typeof compileDevicePolicy>>();
  const listeners: Array<(message: BrokerMessage) => void> = [];
  const denied = (event: DenialEvent) => options.onDenied?.(event);

  const principals = new WeakMap<Client, string>();
  const connections = new Map<string, Set<Client>>();
  const byClientId = new Map<string, Client>();
  const lifecycle = lifecycleEvents((topic, payload) => {
    aedes.publish({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }, () => {});
  }, now);
  options.directory.onCertificateDeactivated((certificateId) => {
    for (const client of connections.get(certificateId) ?? []) {
      lifecycle.closing(client, 'SERVER_INITIATED_DISCONNECT');
      client.close();
    }
  });

  const aedes = await Aedes.createBroker({
    authenticate(client, _username, _password, done) {
      const refuseWith = (action: DenialEvent['action'], reason: string, message: string) => {
        denied({ clientId: client.id, action, resource: client.id, reason });
        done(refuse(message), false);
      };
      const certificate = verifiedCertificate(client);
      if (certificate === undefined) {
        return refuseWith(
          'Authenticate',
          'no verified certificate',
          'client certificate missing or not issued by the local CA',
        );
      }
      const found = options.directory.identify(certificate, client.id);
      if (!found.ok) return refuseWith('Authenticate', found.reason, `certificate refused: ${found.reason}`);
      const allows = compileDevicePolicy(found.identity, found.permissions);
      if (!allows('Connect', client.id)) {
        const reason = found.identity.attached
          ? "the certificate's policies do not allow this client id"
          : `certificate is not attached to thing '${client.id}'`;
        return refuseWith('Connect', reason, `not authorized to connect as '${client.id}': ${reason}`);
      }
      policies.set(client, allows);
      principals.set(client, found.certificateId);
      // MQTT-3.1.4-2: the broker closes the older connection with this client id; IoT says why.
      const older = byClientId.get(client.id);
      if (older !== undefined && older !== client) lifecycle.closing(older, 'DUPLICATE_CLIENTID');
      const live = connections.get(found.certificateId) ?? new Set<Client>();
      live.add(client);
      connections.set(found.certificateId, live);
      done(null, true);
    },
    authorizePublish(client, packet, done) {
      if (client === null) return done(null);
      const allows = policies.get(client);
      if (packet.payload.length > MAX_PAYLOAD_BYTES) {
        denied({
          clientId: client.id,
          action: 'Publish',
          resource: packet.topic,
          reason: 'payload over 128 KB',
        });
        return done(new Error('payload exceeds 128 KB'));
      }
      if (allows === undefined || !allows('Publish', packet.topic)) {
        denied({
          clientId: client.id,
          action: 'Publish',
          resource: packet.topic,
          reason: 'not allowed by the device policy',
        });
        lifecycle.closing(client, 'SERVER_INITIATED_DISCONNECT');
        return done(new Error(`not authorized to publish to ${packet.topic}`));
      }
      done(null);
    },
    authorizeSubscribe(client, subscription, done) {
      const allows = policies.get(client);
      if (allows === undefined || !allows('Subscribe', subscription.topic)) {
        denied({
          clientId: client.id,
          action: 'Subscribe',
          resource: subscription.topic,
          reason: 'not allowed by the device policy',
        });
        return done(null, null);
      }
      done(null, subscription);
    },
    authorizeForward(client, packet) {
      const allows = policies.get(client);
      return allows?.('Receive', packet.topic) ? packet : null;
    },
  });

  aedes.on('client', (client) => {
    byClientId.set(client.id, client);
    lifecycle.connected(client, principals.get(client) ?? '');
  });
  aedes.on('keepaliveTimeout', (client) => lifecycle.closing(client, 'MQTT_KEEP_ALIVE_TIMEOUT'));
  aedes.on('clientError', (client) => lifecycle.closing(client, 'CONNECTION_LOST'));
  aedes.on('clientDisconnect', (client) => {
    const certificateId = principals.get(client);
    if (certificateId !== undefined) connections.get(certificateId)?.delete(client);
    if (byClientId.get(client.id) === client) byClientId.delete(client.id);
    lifecycle.disconnected(client, certificateId ?? '');
  });

  aedes.on('publish', (packet, client) => {
    if (packet.topic.startsWith('$SYS/')) return;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const api = client === null ? undefined : options.reservedApis?.find((r) => r.matches(packet.topic));
    if (api !== undefined && client !== null) {
      api
        .answer({
          topic: packet.topic,
          payload,
          clientId: client.id,
          principal: principals.get(client) ?? '',
        })
        .then(
          (reply) => {
            // The answer reaches the asking client only, and only if it may receive it.
            if (!policies.get(client)?.('Receive', reply.topic)) return;
            // aedes calls the callback once the packet is written (and acknowledged, at QoS 1).
            client.publish(
              {
                cmd: 'publish',
                topic: reply.topic,
                payload: Buffer.from(reply.payload),
                qos: 1,
                retain: false,
                dup: false,
              },
              () => {},
            );
          },
          () => client.close(),
        );
      return;
    }
    const message: BrokerMessage = {
      topic: packet.topic,
      payload,
      clientId: client?.id ?? '',
      principal: client === null ? '' : (principals.get(client) ?? ''),
      receivedAt: now(),
    };
    for (const listener of listeners) listener(message);
  });

  const server = await options.pki.serverCertificate();
  const tls = createServer(
    {
      key: server.keyPem,
      cert: server.certPem,
      ca: [options.pki.caPem],
      requestCert: true,
      rejectUnauthorized: true,
      // TLS 1.3 only, as the IoT domain configuration's TLS policy in AWS: a client offering at most 1.2
      // fails the handshake. A device whose modem lacks 1.3 cannot use the local broker.
      minVersion: 'TLSv1.3',
    },
    aedes.handle,
  );
  // A failed handshake (no or foreign certificate) is refused by TLS itself; keep it out of the crash path.
  tls.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    tls.once('error', reject);
    tls.listen(options.port ?? 8883, options.host ?? '127.0.0.1', () => {
      tls.off('error', reject);
      resolve();
    });
  });

  return {
    port: (tls.address() as AddressInfo).port,
    publish: (topic, payload, qos = 1) =>
      new Promise((resolve, reject) =>
        aedes.publish(
          { cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false },
          (error) => (error ? reject(error) : resolve()),
        ),
      ),
    onMessage: (listener) => {
      listeners.push(listener);
    },
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => tls.close(() => resolve()));
    },
  };
}
