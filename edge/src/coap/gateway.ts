import type { AddressInfo } from 'node:net';
import {
  createServer,
  type IncomingMessage,
  ObserveWriteStream,
  type OutgoingMessage,
  type Server,
} from 'coap';
import {
  CONTENT_FORMAT_CBOR,
  CONTENT_FORMAT_LINK_FORMAT,
  encodeCborPayload,
  parseGatewayCommand,
  parseSensorReadings,
} from '../../../lib/protocol/coap.ts';
import { SchemaValidationError } from '../../../lib/protocol/errors.ts';
import { UplinkReadingError } from '../uplink/batcher.ts';
import {
  COAP_REJECTION_REASONS,
  type CoapRejectionReason,
  CoapRequestError,
  CommandRejectedError,
} from './errors.ts';
import type { CoapReply, CoapRequestInfo } from './messages.ts';
import { sendOnce, toRequestInfo } from './node-coap.ts';
import { ObserverRegistry } from './observers.ts';
import type { CoapCommandResult, CoapGatewayMetrics, CoapGatewayOptions } from './options.ts';
import { accepts, allow, decodeBody, invalid, notFound, validSensorId } from './request-checks.ts';
import { findFutureReadings, SensorTable, toDeviceReading } from './sensors.ts';

export type { CoapReply, CoapRequestInfo } from './messages.ts';
export type {
  CoapCommandResult,
  CoapGatewayMetrics,
  CoapGatewayOptions,
  CoapReadingSource,
} from './options.ts';

const READINGS_RESOURCE = 'readings';
const sensorResource = (id: string): string => `sensors/${id}/readings`;

/** RFC 6690 links of the resources, for `GET /.well-known/core`. */
const LINKS = [
  `</readings>;rt="fleetkit.reading";ct=${CONTENT_FORMAT_CBOR};obs`,
  `</sensors>;rt="fleetkit.sensors";ct=${CONTENT_FORMAT_CBOR}`,
  `</commands>;rt="fleetkit.command";ct=${CONTENT_FORMAT_CBOR}`,
].join(',');

const utf8 = new TextEncoder();

/**
 * The edge agent's CoAP gateway (RFC 7252) for constrained sensors on the device's local network.
 *
 * | resource | methods |
 * |---|---|
 * | `/.well-known/core` | GET: the resources, RFC 6690 link format (40) |
 * | `/readings` | GET (observable): the device's latest reading, CBOR |
 * | `/sensors` | GET: the sensors heard from, CBOR |
 * | `/sensors/{id}` | DELETE: forget a sensor (2.02) |
 * | `/sensors/{id}/readings` | POST one reading or `{ readings: [...] }` (2.01 for a new sensor, else 2.04); GET (observable) its last readings |
 * | `/commands` | POST a command (2.04, with the handler's result) |
 *
 * Payloads are CBOR (Content-Format 60). A refused request is answered with a 4.xx/5.xx code and a
 * UTF-8 diagnostic naming the field or limit (RFC 7252 §5.5.2), counted by reason, and changes
 * nothing. Readings requests go through one at a time, so limits hold and a sensor's readings keep
 * their order. Duplicate confirmable requests (retransmissions) are answered from node-coap's
 * message cache without reaching the gateway again (RFC 7252 §4.5).
 */
export class CoapGateway {
  private readonly clock: { now(): number };
  private readonly log: (event: string, detail: Record<string, unknown>) => void;
  private readonly maxPayloadBytes: number;
  private readonly maxClockSkewMs: number;
  private readonly retryAfterSeconds: number;
  private readonly sensors: SensorTable;
  private readonly observers: ObserverRegistry;
  private readonly counters = {
    requests: 0,
    acceptedReadings: 0,
    acceptedCommands: 0,
    rejected: Object.fromEntries(COAP_REJECTION_REASONS.map((r) => [r, 0])) as Record<
      CoapRejectionReason,
      number
    >,
  };
  private server: Server | undefined;
  private ingestTail: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: CoapGatewayOptions) {
    this.clock = options.clock ?? { now: () => Date.now() };
    this.log = options.log ?? (() => {});
    this.maxPayloadBytes = positiveInteger('maxPayloadBytes', options.maxPayloadBytes ?? 4096);
    this.maxClockSkewMs = positiveInteger('maxClockSkewMs', options.maxClockSkewMs ?? 600_000);
    this.retryAfterSeconds = positiveInteger('retryAfterSeconds', options.retryAfterSeconds ?? 5);
    this.sensors = new SensorTable({
      maxSensors: options.maxSensors ?? 32,
      historyPerSensor: options.historyPerSensor ?? 16,
    });
    this.observers = new ObserverRegistry(positiveInteger('maxObservers', options.maxObservers ?? 32));
  }

  /** Binds the UDP socket and serves. @returns the bound port (useful with `port: 0`) */
  async start(): Promise<{ port: number }> {
    if (this.server !== undefined) throw new Error('CoAP gateway already started');
    const server = createServer({ type: 'udp4' });
    server.on('request', (req: IncomingMessage, res: OutgoingMessage | ObserveWriteStream) => {
      void this.serve(req, res);
    });
    server.on('error', (error: Error) => this.log('coap.server-error', { error: error.message }));
    await new Promise<void>((resolve, reject) => {
      server.listen(this.options.port ?? 5683, this.options.host ?? '127.0.0.1', (error?: Error) =>
        error ? reject(error) : resolve(),
      );
    });
    this.server = server;
    const port = (server._sock as { address(): AddressInfo }).address().port;
    this.log('coap.started', { port });
    return { port };
  }

  /** Ends every observation and closes the socket; the port is free once this resolves. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    this.observers.endAll();
    const socket = server._sock as { once(event: 'close', listener: () => void): void } | null;
    const closed = new Promise<void>((resolve) => (socket ? socket.once('close', resolve) : resolve()));
    server.close();
    await closed;
    this.log('coap.stopped', {});
  }

  metrics(): CoapGatewayMetrics {
    return {
      requests: this.counters.requests,
      acceptedReadings: this.counters.acceptedReadings,
      acceptedCommands: this.counters.acceptedCommands,
      rejected: { ...this.counters.rejected },
      sensors: this.sensors.size,
      observers: this.observers.size,
    };
  }

  /**
   * Tells observers of `/readings` that the device's latest reading changed; call it after each of
   * the device's own samples.
   */
  notifyLatestChanged(): void {
    this.notify(READINGS_RESOURCE);
  }

  /**
   * Answers one request, transport aside: routing, validation, the sink and the command handler.
   * Never throws; a refusal is a 4.xx/5.xx reply with a diagnostic, counted by reason.
   */
  async handle(request: CoapRequestInfo): Promise<CoapReply> {
    this.counters.requests++;
    try {
      return await this.route(request);
    } catch (error) {
      const refusal =
        error instanceof CoapRequestError
          ? error
          : new CoapRequestError('5.00', 'internal', `internal error: ${(error as Error).message}`);
      this.counters.rejected[refusal.reason]++;
      this.log('coap.rejected', {
        method: request.method,
        path: `/${request.path.join('/')}`,
        code: refusal.code,
        reason: refusal.reason,
        diagnostic: refusal.message,
      });
      return {
        code: refusal.code,
        payload: utf8.encode(refusal.message),
        ...(refusal.options.maxAge === undefined ? {} : { maxAge: refusal.options.maxAge }),
        ...(refusal.options.size1 === undefined ? {} : { size1: refusal.options.size1 }),
      };
    }
  }

  private async route(request: CoapRequestInfo): Promise<CoapReply> {
    const [first, second, third, ...rest] = request.path;
    if (first === '.well-known' && second === 'core' && third === undefined) {
      allow(request, ['GET']);
      accepts(request, CONTENT_FORMAT_LINK_FORMAT, 'application/link-format');
      return { code: '2.05', contentFormat: CONTENT_FORMAT_LINK_FORMAT, payload: utf8.encode(LINKS) };
    }
    if (first === 'readings' && second === undefined) {
      allow(request, ['GET']);
      accepts(request, CONTENT_FORMAT_CBOR, 'application/cbor');
      return { ...this.representLatest(), observable: READINGS_RESOURCE };
    }
    if (first === 'commands' && second === undefined) {
      allow(request, ['POST']);
      return this.command(request);
    }
    if (first === 'sensors' && second === undefined) {
      allow(request, ['GET']);
      accepts(request, CONTENT_FORMAT_CBOR, 'application/cbor');
      return {
        code: '2.05',
        contentFormat: CONTENT_FORMAT_CBOR,
        payload: cbor({ sensors: this.sensors.summaries() }),
      };
    }
    if (first === 'sensors' && second !== undefined && third === undefined) {
      allow(request, ['DELETE']);
      const id = validSensorId(second);
      if (!this.sensors.remove(id)) throw notFound(`no sensor '${id}'`);
      this.observers.endAll(sensorResource(id));
      this.log('coap.sensor-removed', { sensorId: id });
      return { code: '2.02' };
    }
    if (first === 'sensors' && second !== undefined && third === 'readings' && rest.length === 0) {
      allow(request, ['GET', 'POST']);
      const id = validSensorId(second);
      if (request.method === 'POST') return this.serialized(() => this.ingest(id, request));
      accepts(request, CONTENT_FORMAT_CBOR, 'application/cbor');
      return { ...this.representSensor(id), observable: sensorResource(id) };
    }
    throw notFound(`no resource at /${request.path.join('/')}`);
  }

  /** The `POST /sensors/{id}/readings` path: validate all, forward all, then record. */
  private async ingest(id: string, request: CoapRequestInfo): Promise<CoapReply> {
    const readings = decodeBody(request, parseSensorReadings, this.maxPayloadBytes);
    const now = this.clock.now();
    const future = findFutureReadings(readings, now, this.maxClockSkewMs);
    if (future.length > 0) throw invalid(new SchemaValidationError('sensor readings', future));
    if (!this.sensors.canAdmit(id))
      throw new CoapRequestError(
        '4.03',
        'sensor-limit',
        `sensor limit reached: the gateway tracks ${this.sensors.size} sensors; DELETE /sensors/{id} to free one`,
      );
    const deviceReadings = readings.map((r) => toDeviceReading(id, r, now));
    try {
      await this.options.sink(deviceReadings, { sensorId: id });
    } catch (error) {
      if (error instanceof UplinkReadingError)
        throw new CoapRequestError('4.00', 'sink-refused', `refused by the uplink: ${error.message}`);
      throw new CoapRequestError(
        '5.03',
        'sink-unavailable',
        `uplink unavailable: ${(error as Error).message}`,
        {
          maxAge: this.retryAfterSeconds,
        },
      );
    }
    const isNew = this.sensors.record(id, readings, now);
    this.counters.acceptedReadings += readings.length;
    this.log('coap.readings', { sensorId: id, count: readings.length, isNew });
    this.notify(sensorResource(id));
    // RFC 7252 §5.8.2: 2.01 Created when the POST created a resource (here, the sensor's), else 2.04.
    return isNew ? { code: '2.01', locationPath: ['sensors', id] } : { code: '2.04' };
  }

  private async command(request: CoapRequestInfo): Promise<CoapReply> {
    const command = decodeBody(request, parseGatewayCommand, this.maxPayloadBytes);
    let result: CoapCommandResult;
    try {
      result = await this.options.onCommand(command);
    } catch (error) {
      if (error instanceof CommandRejectedError)
        throw new CoapRequestError(
          '4.03',
          'command-rejected',
          `command ${command.name} refused: ${error.message}`,
        );
      throw new CoapRequestError(
        '5.00',
        'command-failed',
        `command ${command.name} failed: ${(error as Error).message}`,
      );
    }
    this.counters.acceptedCommands++;
    this.log('coap.command', { name: command.name });
    return result === undefined
      ? { code: '2.04' }
      : { code: '2.04', contentFormat: CONTENT_FORMAT_CBOR, payload: cbor(result) };
  }

  private representLatest(): CoapReply {
    const latest = this.options.latest();
    if (latest === undefined)
      throw new CoapRequestError('4.04', 'not-found', 'the device has no reading yet');
    return { code: '2.05', contentFormat: CONTENT_FORMAT_CBOR, payload: cbor(latest) };
  }

  private representSensor(id: string): CoapReply {
    const history = this.sensors.history(id);
    if (history === undefined) throw new CoapRequestError('4.04', 'not-found', `no sensor '${id}'`);
    return {
      code: '2.05',
      contentFormat: CONTENT_FORMAT_CBOR,
      payload: cbor({ sensorId: id, readings: history }),
    };
  }

  /** Runs readings requests one at a time: the sensor limit is checked and used in one step. */
  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.ingestTail.then(task, task);
    this.ingestTail = run.catch(() => {});
    return run;
  }

  /** Sends each observer of `resource` its new representation (RFC 7641 §4.2). */
  private notify(resource: string): void {
    const streams = this.observers.of(resource);
    if (streams.length === 0) return;
    let reply: CoapReply;
    try {
      reply =
        resource === READINGS_RESOURCE ? this.representLatest() : this.representSensor(sensorIdOf(resource));
    } catch {
      return;
    }
    for (const stream of streams) stream.write(Buffer.from(reply.payload ?? new Uint8Array()));
  }

  private async serve(req: IncomingMessage, res: OutgoingMessage | ObserveWriteStream): Promise<void> {
    try {
      const allowed = this.options.allowedSources;
      if (allowed !== undefined && !allowed.includes(req.rsinfo.address)) {
        this.counters.requests++;
        this.counters.rejected['forbidden-source']++;
        this.log('coap.forbidden-source', { source: req.rsinfo.address });
        sendOnce(res, { code: '4.03', payload: new TextEncoder().encode('source address not allowed') });
        return;
      }
      const request = toRequestInfo(req);
      const observeKey = `${req.rsinfo.address}:${req.rsinfo.port}/${req._packet.token?.toString('hex') ?? ''}`;
      // RFC 7641 §3.6: a GET with Observe: 1 deregisters, and is otherwise answered as a plain GET.
      if (req.headers.Observe === 1) this.observers.remove(observeKey);
      const reply = await this.handle(request);
      if (
        res instanceof ObserveWriteStream &&
        reply.observable !== undefined &&
        reply.code === '2.05' &&
        this.server !== undefined &&
        this.observers.add(reply.observable, { key: observeKey, stream: res })
      ) {
        res.statusCode = reply.code;
        if (reply.contentFormat !== undefined) res.setOption('Content-Format', reply.contentFormat);
        // Each write is one notification carrying an increasing Observe sequence number.
        res.write(Buffer.from(reply.payload ?? new Uint8Array()));
        return;
      }
      sendOnce(res, reply);
    } catch (error) {
      // Only a fault of node-coap or of the socket lands here: the request is lost, the gateway serves on.
      this.log('coap.send-failed', { error: (error as Error).message });
    }
  }
}

function sensorIdOf(resource: string): string {
  return resource.split('/')[1] ?? '';
}

function cbor(value: unknown): Uint8Array {
  return encodeCborPayload(value);
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
