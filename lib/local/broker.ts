import type { AddressInfo } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { compileDevicePolicy, type DeviceAction, type DeviceIdentity } from '../protocol/device-policy.ts';
import type { LocalPki } from './pki.ts';

/** IoT Core's largest message payload (https://docs.aws.amazon.com/general/latest/gr/iot-core.html). */
export const MAX_PAYLOAD_BYTES = 128 * 1024;

/** A message that passed authorization, as the rules engine sees it. */
export interface BrokerMessage {
  readonly topic: string;
  readonly payload: Buffer;
  /** Empty for messages published by the platform itself (as IoT Core's data plane does). */
  readonly clientId: string;
  readonly receivedAt: number;
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

/** Reads the thing name (CN) and type (OU) from the client certificate the TLS layer verified. */
function identityOf(client: Client): DeviceIdentity | undefined {
  const socket = client.conn as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined;
  const subject = socket.getPeerCertificate().subject;
  const pick = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const thingName = pick(subject?.CN);
  const thingType = pick(subject?.OU);
  return thingName && thingType ? { thingName, thingType } : undefined;
}

/**
 * An aedes MQTT 3.1.1 broker on TLS 1.3 only (no plaintext listener), with mutual TLS and the device policy of
 * `lib/protocol/device-policy.ts` enforced on connect, publish, subscribe and delivery — the same
 * rules the IoT policy enforces in AWS. As in IoT Core: a client connects only as its own thing name;
 * an unauthorized PUBLISH closes the connection (MQTT 3.1.1 has no negative PUBACK); an unauthorized
 * SUBSCRIBE is answered with SUBACK 0x80; messages it may not receive are not delivered.
 */
export async function startBroker(options: BrokerOptions): Promise<LocalBroker> {
  const now = options.now ?? Date.now;
  const policies = new WeakMap<Client, ReturnType<typeof compileDevicePolicy>>();
  const listeners: Array<(message: BrokerMessage) => void> = [];
  const denied = (event: DenialEvent) => options.onDenied?.(event);

  const aedes = await Aedes.createBroker({
    authenticate(client, _username, _password, done) {
      const identity = identityOf(client);
      if (identity === undefined) {
        denied({
          clientId: client.id,
          action: 'Authenticate',
          resource: client.id,
          reason: 'no verified certificate',
        });
        return done(refuse('client certificate missing or not issued by the local CA'), false);
      }
      const allows = compileDevicePolicy(identity);
      if (!allows('Connect', client.id)) {
        denied({
          clientId: client.id,
          action: 'Connect',
          resource: client.id,
          reason: `certificate is for ${identity.thingName}`,
        });
        return done(refuse(`client id must be the thing name '${identity.thingName}'`), false);
      }
      policies.set(client, allows);
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

  aedes.on('publish', (packet, client) => {
    if (packet.topic.startsWith('$SYS/')) return;
    const message: BrokerMessage = {
      topic: packet.topic,
      payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
      clientId: client?.id ?? '',
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
