import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandRejectedError } from '../../../../edge/src/coap/errors.ts';
import { UplinkReadingError } from '../../../../edge/src/uplink/batcher.ts';
import { encodeCborPayload } from '../../../../lib/protocol/coap.ts';
import { cborOf, diagnosticOf, Harness, nextNotifications, T0 } from './support.ts';

const harnesses: Harness[] = [];
async function startHarness(options: ConstructorParameters<typeof Harness>[0] = {}): Promise<Harness> {
  const harness = await new Harness(options).start();
  harnesses.push(harness);
  return harness;
}
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.stop();
});

describe('CoAP round trip', () => {
  it('forwards a sensor reading to the sink under <sensorId>_<metric> and serves it back as CBOR', async () => {
    // Prepare
    const h = await startHarness();

    // Act
    const posted = await h.send({
      method: 'POST',
      pathname: '/sensors/th1/readings',
      body: { ts: T0 - 1000, seq: 7, values: { temp: 21.5, rh: 40 } },
    });
    const got = await h.send({ pathname: '/sensors/th1/readings' });

    // Assess
    expect(posted.code).toBe('2.01');
    expect(posted.headers['Location-Path']).toBe('th1');
    expect(h.sunk).toEqual([
      { sensorId: 'th1', readings: [{ ts: T0 - 1000, values: { th1_temp: 21.5, th1_rh: 40 } }] },
    ]);
    expect(got.code).toBe('2.05');
    expect(got.headers['Content-Format']).toBe('application/cbor');
    expect(cborOf(got)).toEqual({
      sensorId: 'th1',
      readings: [{ ts: T0 - 1000, seq: 7, values: { temp: 21.5, rh: 40 } }],
    });
  });

  it('answers 2.04 Changed once the sensor exists, and takes a batch in one sink call', async () => {
    // Prepare
    const h = await startHarness();
    await h.send({ method: 'POST', pathname: '/sensors/th1/readings', body: { values: { temp: 20 } } });

    // Act
    const result = await h.send({
      method: 'POST',
      pathname: '/sensors/th1/readings',
      body: { readings: [{ ts: T0 - 2000, values: { temp: 20.5 } }, { values: { temp: 21 } }] },
    });

    // Assess
    expect(result.code).toBe('2.04');
    expect(h.sunk[1]?.readings).toEqual([
      { ts: T0 - 2000, values: { th1_temp: 20.5 } },
      { ts: T0, values: { th1_temp: 21 } },
    ]);
    expect(h.gateway.metrics()).toMatchObject({ acceptedReadings: 3, sensors: 1 });
  });

  it('stamps a reading without ts with the gateway clock (sensors without an RTC)', async () => {
    // Prepare
    const h = await startHarness();

    // Act
    await h.send({ method: 'POST', pathname: '/sensors/door2/readings', body: { values: { open: 1 } } });

    // Assess
    expect(h.sunk[0]?.readings).toEqual([{ ts: T0, values: { door2_open: 1 } }]);
  });

  it('serves a non-confirmable request with a response', async () => {
    // Prepare
    const h = await startHarness();

    // Act
    const posted = await h.send({
      method: 'POST',
      pathname: '/sensors/th1/readings',
      body: { values: { temp: 19 } },
      confirmable: false,
    });

    // Assess
    expect(posted.code).toBe('2.01');
    expect(h.sunk).toHaveLength(1);
  });

  it("serves the device's latest reading on GET /readings, and 4.04 before there is one", async () => {
    // Prepare
    const h = await startHarness();
    const before = await h.send({ pathname: '/readings' });
    h.latestReading = { ts: T0, seq: 3, values: { temp: 30 } };

    // Act
    const after = await h.send({ pathname: '/readings', accept: 'application/cbor' });

    // Assess
    expect(before.code).toBe('4.04');
    expect(diagnosticOf(before)).toBe('the device has no reading yet');
    expect(after.code).toBe('2.05');
    expect(cborOf(after)).toEqual({ ts: T0, seq: 3, values: { temp: 30 } });
  });

  it('runs a command and answers 2.04 with its CBOR result', async () => {
    // Prepare
    const h = await startHarness();

    // Act
    const sampled = await h.send({ method: 'POST', pathname: '/commands', body: { name: 'sample-now' } });
    const interval = await h.send({
      method: 'POST',
      pathname: '/commands',
      body: { name: 'set-interval', seconds: 30 },
    });

    // Assess
    expect(sampled.code).toBe('2.04');
    expect(cborOf(sampled)).toEqual({ sampled: true });
    expect(interval.code).toBe('2.04');
    expect(interval.payload).toHaveLength(0);
    expect(h.commands).toEqual([{ name: 'sample-now' }, { name: 'set-interval', seconds: 30 }]);
    expect(h.gateway.metrics().acceptedCommands).toBe(2);
  });

  it('lists the sensors heard from, and forgets one on DELETE', async () => {
    // Prepare
    const h = await startHarness();
    await h.send({ method: 'POST', pathname: '/sensors/a1/readings', body: { values: { x: 1 } } });
    await h.send({
      method: 'POST',
      pathname: '/sensors/b2/readings',
      body: { readings: [{ values: { x: 1 } }, { values: { x: 2 } }] },
    });

    // Act
    const listed = await h.send({ pathname: '/sensors' });
    const deleted = await h.send({ method: 'DELETE', pathname: '/sensors/a1' });
    const gone = await h.send({ pathname: '/sensors/a1/readings' });

    // Assess
    expect(cborOf(listed)).toEqual({
      sensors: [
        { id: 'a1', lastSeen: T0, accepted: 1 },
        { id: 'b2', lastSeen: T0, accepted: 2 },
      ],
    });
    expect(deleted.code).toBe('2.02');
    expect(gone.code).toBe('4.04');
    expect(h.gateway.metrics().sensors).toBe(1);
  });

  it('describes its resources on /.well-known/core in link format (RFC 6690)', async () => {
    // Prepare
    const h = await startHarness();

    // Act
    const result = await h.send({ pathname: '/.well-known/core' });

    // Assess
    expect(result.code).toBe('2.05');
    expect(result.headers['Content-Format']).toBe('application/link-format');
    expect(result.payload.toString()).toContain('</readings>;rt="fleetkit.reading";ct=60;obs');
  });
});

describe('CoAP rejections', () => {
  const reading = { values: { temp: 21 } };

  it.each([
    {
      rule: 'bad CBOR (truncated map)',
      req: { method: 'POST' as const, pathname: '/sensors/th1/readings', body: new Uint8Array([0xa1, 0x66]) },
      code: '4.00',
      reason: 'bad-cbor',
      diagnostic: 'invalid sensor readings: not well-formed CBOR',
    },
    {
      rule: 'an empty payload',
      req: { method: 'POST' as const, pathname: '/sensors/th1/readings', body: new Uint8Array() },
      code: '4.00',
      reason: 'bad-cbor',
      diagnostic: 'empty payload',
    },
    {
      rule: 'JSON where CBOR belongs',
      req: {
        method: 'POST' as const,
        pathname: '/sensors/th1/readings',
        body: new TextEncoder().encode(JSON.stringify(reading)),
        contentFormat: 'application/json',
      },
      code: '4.15',
      reason: 'unsupported-content-format',
      diagnostic: 'Content-Format must be application/cbor (60), got application/json',
    },
    {
      rule: 'no Content-Format',
      req: {
        method: 'POST' as const,
        pathname: '/commands',
        body: { name: 'sample-now' },
        contentFormat: 9999,
      },
      code: '4.15',
      reason: 'unsupported-content-format',
      diagnostic: 'got 9999',
    },
    {
      rule: 'a metric that is not a number, named in the diagnostic',
      req: { method: 'POST' as const, pathname: '/sensors/th1/readings', body: { values: { temp: 'warm' } } },
      code: '4.00',
      reason: 'invalid-payload',
      diagnostic: 'values.temp:',
    },
    {
      rule: 'a batch reading with no metrics, named by index',
      req: {
        method: 'POST' as const,
        pathname: '/sensors/th1/readings',
        body: { readings: [reading, { values: {} }] },
      },
      code: '4.00',
      reason: 'invalid-payload',
      diagnostic: 'readings.1.values: must hold at least one metric',
    },
    {
      rule: 'a ts in seconds instead of milliseconds',
      req: {
        method: 'POST' as const,
        pathname: '/sensors/th1/readings',
        body: { ts: T0 / 1000, ...reading },
      },
      code: '4.00',
      reason: 'invalid-payload',
      diagnostic: 'ts: must be epoch milliseconds after 2000-01-01',
    },
    {
      rule: 'a ts far ahead of the gateway clock',
      req: {
        method: 'POST' as const,
        pathname: '/sensors/th1/readings',
        body: { ts: T0 + 3_600_000, ...reading },
      },
      code: '4.00',
      reason: 'invalid-payload',
      diagnostic: "ts: is 3600000 ms ahead of the gateway's clock",
    },
    {
      rule: 'an unknown command',
      req: { method: 'POST' as const, pathname: '/commands', body: { name: 'self-destruct' } },
      code: '4.00',
      reason: 'invalid-payload',
      diagnostic: 'name: must be one of sample-now, set-interval',
    },
    {
      rule: 'a set-interval out of range',
      req: { method: 'POST' as const, pathname: '/commands', body: { name: 'set-interval', seconds: 0 } },
      code: '4.00',
      reason: 'invalid-payload',
      diagnostic: 'seconds: must be >= 30',
    },
    {
      rule: 'an invalid sensor id',
      req: { method: 'POST' as const, pathname: '/sensors/th_1/readings', body: reading },
      code: '4.00',
      reason: 'bad-request',
      diagnostic: "sensor id 'th_1' must be a letter then letters or digits",
    },
    {
      rule: 'an unknown path',
      req: { pathname: '/nowhere' },
      code: '4.04',
      reason: 'not-found',
      diagnostic: 'no resource at /nowhere',
    },
    {
      rule: 'an unknown sensor',
      req: { pathname: '/sensors/ghost/readings' },
      code: '4.04',
      reason: 'not-found',
      diagnostic: "no sensor 'ghost'",
    },
    {
      rule: 'a method the resource does not allow',
      req: { method: 'PUT' as const, pathname: '/readings', body: reading },
      code: '4.05',
      reason: 'method-not-allowed',
      diagnostic: 'PUT not allowed on /readings; allowed: GET',
    },
    {
      rule: 'an Accept the resource cannot satisfy',
      req: { pathname: '/sensors', accept: 'application/json' },
      code: '4.06',
      reason: 'not-acceptable',
      diagnostic: 'Accept asked for application/json',
    },
  ])('refuses $rule with $code', async ({ req, code, reason, diagnostic }) => {
    // Prepare
    const h = await startHarness();

    // Act
    const result = await h.send(req);

    // Assess
    expect(result.code).toBe(code);
    expect(diagnosticOf(result)).toContain(diagnostic);
    expect(result.headers['Content-Format']).toBeUndefined();
    expect(h.gateway.metrics().rejected[reason as 'bad-cbor']).toBe(1);
    expect(h.sunk).toEqual([]);
    expect(h.commands).toEqual([]);
    expect(h.gateway.metrics().sensors).toBe(0);
  });

  it('refuses a payload over the limit with 4.13 and Size1 naming the limit', async () => {
    // Prepare
    const h = await startHarness({ maxPayloadBytes: 64 });
    const values = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`m${i}`, i]));

    // Act
    const result = await h.send({ method: 'POST', pathname: '/sensors/th1/readings', body: { values } });

    // Assess
    expect(result.code).toBe('4.13');
    expect(result.headers.Size1).toBe(64);
    expect(diagnosticOf(result)).toMatch(/payload of \d+ bytes exceeds the limit of 64/);
    expect(h.gateway.metrics().rejected['too-large']).toBe(1);
    expect(h.sunk).toEqual([]);
  });

  it('answers 5.03 with Max-Age when the sink cannot take readings, and records nothing', async () => {
    // Prepare
    const h = await startHarness({ retryAfterSeconds: 7 });
    h.sinkError = new Error('uplink queue full');

    // Act
    const result = await h.send({
      method: 'POST',
      pathname: '/sensors/th1/readings',
      body: { values: { temp: 1 } },
    });
    const after = await h.send({ pathname: '/sensors/th1/readings' });

    // Assess
    expect(result.code).toBe('5.03');
    expect(result.headers['Max-Age']).toBe(7);
    expect(diagnosticOf(result)).toBe('uplink unavailable: uplink queue full');
    expect(after.code).toBe('4.04');
    expect(h.gateway.metrics()).toMatchObject({ acceptedReadings: 0, sensors: 0 });
    expect(h.gateway.metrics().rejected['sink-unavailable']).toBe(1);
  });

  it('answers 4.00 when the uplink refuses the readings as invalid', async () => {
    // Prepare
    const h = await startHarness();
    h.sinkError = new UplinkReadingError('reading refused: values.th1_temp: out of range');

    // Act
    const result = await h.send({
      method: 'POST',
      pathname: '/sensors/th1/readings',
      body: { values: { temp: 1e300 } },
    });

    // Assess
    expect(result.code).toBe('4.00');
    expect(diagnosticOf(result)).toContain('refused by the uplink');
    expect(h.gateway.metrics().rejected['sink-refused']).toBe(1);
  });

  it('refuses a new sensor beyond maxSensors with 4.03, still taking known ones', async () => {
    // Prepare
    const h = await startHarness({ maxSensors: 1 });
    await h.send({ method: 'POST', pathname: '/sensors/a1/readings', body: { values: { x: 1 } } });

    // Act
    const refused = await h.send({
      method: 'POST',
      pathname: '/sensors/b2/readings',
      body: { values: { x: 1 } },
    });
    const known = await h.send({
      method: 'POST',
      pathname: '/sensors/a1/readings',
      body: { values: { x: 2 } },
    });

    // Assess
    expect(refused.code).toBe('4.03');
    expect(diagnosticOf(refused)).toContain('sensor limit reached');
    expect(known.code).toBe('2.04');
    expect(h.sunk.map((s) => s.sensorId)).toEqual(['a1', 'a1']);
  });

  it.each([
    {
      rule: 'CommandRejectedError',
      error: new CommandRejectedError('interval locked by policy'),
      code: '4.03',
      reason: 'command-rejected',
    },
    { rule: 'any other error', error: new Error('sampler crashed'), code: '5.00', reason: 'command-failed' },
  ])('answers $code when the command handler throws $rule', async ({ error, code, reason }) => {
    // Prepare
    const h = await startHarness({
      onCommand: async () => {
        throw error;
      },
    });

    // Act
    const result = await h.send({ method: 'POST', pathname: '/commands', body: { name: 'sample-now' } });

    // Assess
    expect(result.code).toBe(code);
    expect(diagnosticOf(result)).toContain(error.message);
    expect(h.gateway.metrics().rejected[reason as 'command-failed']).toBe(1);
  });

  it('answers 5.00 with the reason when a provider of the gateway throws, and serves on', async () => {
    // Prepare
    const h = await startHarness({
      latest: () => {
        throw new Error('reading store closed');
      },
    });

    // Act
    const failed = await h.send({ pathname: '/readings' });
    const next = await h.send({ pathname: '/sensors' });

    // Assess
    expect(failed.code).toBe('5.00');
    expect(diagnosticOf(failed)).toBe('internal error: reading store closed');
    expect(h.gateway.metrics().rejected.internal).toBe(1);
    expect(next.code).toBe('2.05');
  });

  it('keeps serving after every kind of bad input, including datagrams that are not CoAP', async () => {
    // Prepare
    const h = await startHarness();
    const raw = createSocket('udp4');
    await new Promise<void>((resolve) =>
      raw.send(Buffer.from('not coap at all'), h.port, '127.0.0.1', () => resolve()),
    );
    raw.close();
    await h.send({ method: 'POST', pathname: '/sensors/th1/readings', body: new Uint8Array([0xff]) });
    await h.send({ method: 'POST', pathname: '/sensors/th1/readings', body: { values: { temp: null } } });
    await h.send({ pathname: '/nope' });

    // Act
    const result = await h.send({
      method: 'POST',
      pathname: '/sensors/th1/readings',
      body: { values: { temp: 22 } },
    });

    // Assess
    expect(result.code).toBe('2.01');
    expect(h.sunk).toHaveLength(1);
    expect(h.gateway.metrics()).toMatchObject({ requests: 4, acceptedReadings: 1 });
  });
});

describe('CoAP Observe (RFC 7641)', () => {
  it("notifies observers of a sensor's readings on each accepted POST", async () => {
    // Prepare
    const h = await startHarness();
    await h.send({ method: 'POST', pathname: '/sensors/th1/readings', body: { values: { temp: 20 } } });
    const stream = await h.observe('/sensors/th1/readings');
    const notifications = nextNotifications(stream, 2);

    // Act
    await h.send({ method: 'POST', pathname: '/sensors/th1/readings', body: { values: { temp: 21 } } });

    // Assess
    const [first, second] = await notifications;
    expect(first).toEqual({ sensorId: 'th1', readings: [{ ts: T0, values: { temp: 20 } }] });
    expect(second).toEqual({
      sensorId: 'th1',
      readings: [
        { ts: T0, values: { temp: 20 } },
        { ts: T0, values: { temp: 21 } },
      ],
    });
    expect(h.gateway.metrics().observers).toBe(1);
    stream.close();
  });

  it("notifies observers of /readings when the agent says the device's latest changed", async () => {
    // Prepare
    const h = await startHarness();
    h.latestReading = { ts: T0, values: { temp: 1 } };
    const stream = await h.observe('/readings');
    const notifications = nextNotifications(stream, 2);

    // Act
    h.latestReading = { ts: T0 + 1000, values: { temp: 2 } };
    h.gateway.notifyLatestChanged();

    // Assess
    expect(await notifications).toEqual([
      { ts: T0, values: { temp: 1 } },
      { ts: T0 + 1000, values: { temp: 2 } },
    ]);
    stream.close();
  });

  it('drops an observer that deregisters with a GET carrying Observe: 1 and its token', async () => {
    // Prepare
    const h = await startHarness();
    h.latestReading = { ts: T0, values: { temp: 1 } };
    const token = Buffer.from('0b5e7e01', 'hex');
    const stream = await h.observe('/readings', token);
    await nextNotifications(stream, 1);

    // Act
    // node-coap's own `close(true)` sends this after closing its socket (it throws), so the test sends it.
    const result = await h.send({ pathname: '/readings', observe: 1, token });

    // Assess
    expect(result.code).toBe('2.05');
    expect(result.headers.Observe).toBeUndefined();
    expect(h.gateway.metrics().observers).toBe(0);
    stream.close();
  });

  it('answers an Observe GET on a missing resource once, without registering', async () => {
    // Prepare
    const h = await startHarness();

    // Act
    const result = await h.send({ pathname: '/sensors/ghost/readings', observe: 0 });

    // Assess
    expect(result.code).toBe('4.04');
    expect(diagnosticOf(result)).toBe("no sensor 'ghost'");
    expect(h.gateway.metrics().observers).toBe(0);
  });
});

describe('CoapGateway lifecycle', () => {
  it('releases its port on stop', async () => {
    // Prepare
    const h = new Harness();
    const { port } = await h.gateway.start();
    await h.stop();
    const socket = createSocket('udp4');

    // Act
    const bound = await new Promise<number>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port, address: '127.0.0.1', exclusive: true }, () => resolve(socket.address().port));
    });

    // Assess
    expect(bound).toBe(port);
    socket.close();
  });

  it('refuses to start twice', async () => {
    // Prepare
    const h = await startHarness();

    // Act
    const second = h.gateway.start();

    // Assess
    await expect(second).rejects.toThrow('already started');
  });
});

/**
 * A confirmable POST of a CBOR reading to /sensors/th1/readings, encoded by hand from RFC 7252 §3:
 * header (Ver 1, CON, TKL 0), code 0.02, the message id, Uri-Path options (11), Content-Format (12).
 */
function rawConfirmablePost(messageId: number, cborBody: Uint8Array): Buffer {
  const path = ['sensors', 'th1', 'readings'].map((s) => Buffer.from(s));
  const [sensors, th1, readings] = path as [Buffer, Buffer, Buffer];
  return Buffer.concat([
    Buffer.from([0x40, 0x02, messageId >> 8, messageId & 0xff]),
    Buffer.from([0xb0 | sensors.length]),
    sensors,
    Buffer.from([0x00 | th1.length]),
    th1,
    Buffer.from([0x00 | readings.length]),
    readings,
    Buffer.from([0x11, 60, 0xff]),
    Buffer.from(cborBody),
  ]);
}

describe('CoAP message layer', () => {
  it('answers a retransmitted confirmable POST from its cache, forwarding the readings once (RFC 7252 §4.5)', async () => {
    // Prepare
    const h = await startHarness();
    const socket = createSocket('udp4');
    const replies: Buffer[] = [];
    const twoReplies = new Promise<void>((resolve) =>
      socket.on('message', (message) => {
        replies.push(message);
        if (replies.length === 2) resolve();
      }),
    );
    const datagram = rawConfirmablePost(0x1234, encodeCborPayload({ values: { temp: 21 } }));

    // Act
    await new Promise<void>((resolve) => socket.send(datagram, h.port, '127.0.0.1', () => resolve()));
    await until(() => replies.length === 1);
    await new Promise<void>((resolve) => socket.send(datagram, h.port, '127.0.0.1', () => resolve()));
    await twoReplies;
    socket.close();

    // Assess
    for (const reply of replies) {
      expect(reply[0]).toBe(0x60); // Ver 1, ACK, TKL 0: the response rides on the acknowledgement
      expect(reply[1]).toBe(0x41); // 2.01 Created
      expect(reply.readUInt16BE(2)).toBe(0x1234);
    }
    expect(h.sunk).toHaveLength(1);
  });

  it('answers after a slow sink with a separate response (RFC 7252 §5.2.2)', async () => {
    // Prepare
    const h = await startHarness({
      sink: async () => {
        await new Promise((resolve) => setTimeout(resolve, 200));
      },
    });

    // Act
    const result = await h.send({
      method: 'POST',
      pathname: '/sensors/th1/readings',
      body: { values: { temp: 1 } },
    });

    // Assess
    expect(result.code).toBe('2.01');
  });

  it('takes one of two new sensors racing for the last place, never both', async () => {
    // Prepare
    const h = await startHarness({ maxSensors: 1 });

    // Act
    const results = await Promise.all(
      ['a1', 'b2'].map((id) =>
        h.send({ method: 'POST', pathname: `/sensors/${id}/readings`, body: { values: { x: 1 } } }),
      ),
    );

    // Assess
    expect(results.map((r) => r.code).sort()).toEqual(['2.01', '4.03']);
    expect(h.sunk).toHaveLength(1);
    expect(h.gateway.metrics().sensors).toBe(1);
  });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
