import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { fromHandlerResult, type GatewayRequest, toApiGatewayEvent } from '../../../lib/local/apigw-event.ts';

/** 2026-11-26T22:33:28.456Z, the instant in the API Gateway documentation's example `time`. */
const now = Date.UTC(2026, 10, 26, 22, 33, 28, 456);

/** A request as the gateway builds it from Node's IncomingMessage (whose header names are lower-case). */
function request(overrides: Partial<GatewayRequest> = {}): GatewayRequest {
  return {
    method: 'GET',
    url: new URL('http://localhost:3000/devices/A'),
    headers: { host: 'localhost:3000', 'user-agent': 'curl/8.5.0', accept: '*/*' },
    body: Buffer.alloc(0),
    sourceIp: '127.0.0.1',
    routeKey: 'GET /devices/{id}',
    pathParameters: { id: 'A' },
    now,
    ...overrides,
  };
}

describe('toApiGatewayEvent (payload format 2.0)', () => {
  it('builds the 2.0 envelope with the request context', () => {
    // Act
    const event = toApiGatewayEvent(request());

    // Assess
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /devices/{id}',
      rawPath: '/devices/A',
      rawQueryString: '',
      headers: { host: 'localhost:3000', 'user-agent': 'curl/8.5.0', accept: '*/*' },
      pathParameters: { id: 'A' },
      isBase64Encoded: false,
      requestContext: {
        domainName: 'localhost:3000',
        http: {
          method: 'GET',
          path: '/devices/A',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'curl/8.5.0',
        },
        routeKey: 'GET /devices/{id}',
        stage: '$default',
        time: '26/Nov/2026:22:33:28 +0000',
        timeEpoch: now,
      },
    });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event).not.toHaveProperty('cookies');
    expect(event).not.toHaveProperty('queryStringParameters');
  });

  it.each<[string, number, string]>([
    ['a two-digit day', now, '26/Nov/2026:22:33:28 +0000'],
    ['a one-digit day and hour, zero-padded', Date.UTC(2026, 0, 5, 3, 4, 5), '05/Jan/2026:03:04:05 +0000'],
    [
      'midnight at the turn of the year',
      Date.UTC(2025, 11, 31, 23, 59, 59, 999),
      '31/Dec/2025:23:59:59 +0000',
    ],
  ])('formats requestContext.time for %s', (_rule, epoch, expected) => {
    expect(toApiGatewayEvent(request({ now: epoch })).requestContext.time).toBe(expected);
  });

  it.each<[string, string, Record<string, string> | undefined, string]>([
    [
      'one value per parameter',
      '/devices?limit=10&type=tracker',
      { limit: '10', type: 'tracker' },
      'limit=10&type=tracker',
    ],
    [
      'repeated parameters joined by commas',
      '/devices?tag=a&tag=b&tag=c',
      { tag: 'a,b,c' },
      'tag=a&tag=b&tag=c',
    ],
    [
      'decoded values and a raw query string left as sent',
      '/devices?q=a%20b%2Cc',
      { q: 'a b,c' },
      'q=a%20b%2Cc',
    ],
    ['no query', '/devices', undefined, ''],
  ])('maps the query with %s', (_rule, pathAndQuery, parameters, raw) => {
    // Act
    const event = toApiGatewayEvent(request({ url: new URL(`http://localhost:3000${pathAndQuery}`) }));

    // Assess
    expect(event.queryStringParameters).toStrictEqual(parameters);
    expect(event.rawQueryString).toBe(raw);
    expect(event.rawPath).toBe('/devices');
  });

  it.each<[string, IncomingHttpHeaders, string[] | undefined]>([
    ['one cookie', { cookie: 'session=abc' }, ['session=abc']],
    ['several cookies in one header', { cookie: 'a=1; b=2;c=3' }, ['a=1', 'b=2', 'c=3']],
    ['no cookie header', {}, undefined],
  ])('splits %s into cookies and keeps them out of headers', (_rule, headers, cookies) => {
    // Act
    const event = toApiGatewayEvent(request({ headers: { host: 'localhost:3000', ...headers } }));

    // Assess
    expect(event.cookies).toStrictEqual(cookies);
    expect(event.headers).not.toHaveProperty('cookie');
    expect(event.headers.host).toBe('localhost:3000');
  });

  it('joins a header that arrived several times with commas', () => {
    // Act
    const event = toApiGatewayEvent(request({ headers: { 'x-forwarded-for': ['10.0.0.1', '10.0.0.2'] } }));

    // Assess
    expect(event.headers['x-forwarded-for']).toBe('10.0.0.1,10.0.0.2');
  });

  it.each<[string, string | undefined, Buffer, string | undefined, boolean]>([
    ['a JSON body as a string', 'application/json', Buffer.from('{"a":1}'), '{"a":1}', false],
    [
      'a JSON body with a charset',
      'application/json; charset=utf-8',
      Buffer.from('{"ü":1}'),
      '{"ü":1}',
      false,
    ],
    [
      'a +json body as a string',
      'application/merge-patch+json',
      Buffer.from('{"a":null}'),
      '{"a":null}',
      false,
    ],
    ['a text body as a string', 'text/plain', Buffer.from('hello'), 'hello', false],
    [
      'a form body as a string',
      'application/x-www-form-urlencoded',
      Buffer.from('a=1&b=2'),
      'a=1&b=2',
      false,
    ],
    ['a binary body as base64', 'application/octet-stream', Buffer.from([0x00, 0xff, 0xfe]), 'AP/+', true],
    ['an image as base64', 'image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47]), 'iVBORw==', true],
    ['no body: no body key', 'application/json', Buffer.alloc(0), undefined, false],
    [
      'no body and a binary type: still not base64',
      'application/octet-stream',
      Buffer.alloc(0),
      undefined,
      false,
    ],
  ])('carries %s', (_rule, contentType, body, expectedBody, base64) => {
    // Prepare
    const headers: IncomingHttpHeaders = contentType === undefined ? {} : { 'content-type': contentType };

    // Act
    const event = toApiGatewayEvent(request({ method: 'POST', routeKey: 'POST /devices', headers, body }));

    // Assess
    expect(event.isBase64Encoded).toBe(base64);
    if (expectedBody === undefined) expect(event).not.toHaveProperty('body');
    else expect(event.body).toBe(expectedBody);
  });

  it('leaves pathParameters out when the route has none', () => {
    // Act
    const event = toApiGatewayEvent(request({ routeKey: 'GET /devices', pathParameters: {} }));

    // Assess
    expect(event).not.toHaveProperty('pathParameters');
  });
});

describe('fromHandlerResult', () => {
  it.each<[string, unknown, number, Record<string, string | string[]>, Buffer]>([
    [
      'a structured result passes through, header names lower-cased',
      { statusCode: 201, headers: { 'Content-Type': 'text/plain', 'X-Count': 5 }, body: 'created' },
      201,
      { 'content-type': 'text/plain', 'x-count': '5' },
      Buffer.from('created'),
    ],
    [
      'a base64 body is decoded',
      {
        statusCode: 200,
        headers: { 'content-type': 'application/octet-stream' },
        body: 'AP/+',
        isBase64Encoded: true,
      },
      200,
      { 'content-type': 'application/octet-stream' },
      Buffer.from([0x00, 0xff, 0xfe]),
    ],
    [
      'cookies become set-cookie headers',
      { statusCode: 204, cookies: ['a=1; Path=/; HttpOnly', 'b=2'] },
      204,
      { 'set-cookie': ['a=1; Path=/; HttpOnly', 'b=2'] },
      Buffer.alloc(0),
    ],
    ['a structured result without a body has an empty body', { statusCode: 404 }, 404, {}, Buffer.alloc(0)],
    [
      'a plain object is a 200 JSON response',
      { devices: [{ deviceId: 'A' }] },
      200,
      { 'content-type': 'application/json' },
      Buffer.from('{"devices":[{"deviceId":"A"}]}'),
    ],
    [
      'a string is a 200 JSON response with the string as the body',
      'Hello from Lambda!',
      200,
      { 'content-type': 'application/json' },
      Buffer.from('Hello from Lambda!'),
    ],
    [
      'an array is a 200 JSON response',
      [1, 2],
      200,
      { 'content-type': 'application/json' },
      Buffer.from('[1,2]'),
    ],
  ])('%s', (_rule, result, statusCode, headers, body) => {
    // Act
    const response = fromHandlerResult(result);

    // Assess
    expect(response.statusCode).toBe(statusCode);
    expect(response.headers).toStrictEqual(headers);
    expect(response.body.toString('hex')).toBe(body.toString('hex'));
  });
});
