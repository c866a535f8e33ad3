import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { Sha256, signRequest } from '../../../lib/local/sigv4.ts';
import { type ReceivedRequest, verifySigV4 } from '../../../lib/local/sigv4-verify.ts';

const KEY = { accessKeyId: 'FKLOAAAAAAAAAAAAAAAA', secretAccessKey: 'the-operator-secret' };
const NOW = Date.parse('2026-03-01T10:00:00Z');
const options = {
  service: 'execute-api',
  region: 'us-east-1',
  lookup: (id: string) => (id === KEY.accessKeyId ? { key: KEY, principal: 'operator' } : undefined),
  now: () => NOW,
};

/** Signs a POST as the CLI does, and turns it into what the server receives. */
async function received(
  overrides: { key?: typeof KEY; service?: string; at?: number; body?: string; url?: string } = {},
): Promise<ReceivedRequest> {
  const url = new URL(overrides.url ?? 'http://127.0.0.1:3000/firmware/1.0.0%2Bb/complete?x=1&a=b%20c');
  const body = overrides.body ?? '{"version":"1.0.0"}';
  const headers = await signRequest(
    { method: 'POST', url, headers: { 'content-type': 'application/json' }, body },
    {
      service: overrides.service ?? 'execute-api',
      region: 'us-east-1',
      credentials: overrides.key ?? KEY,
      signingDate: new Date(overrides.at ?? NOW),
    },
  );
  return {
    method: 'POST',
    target: `${url.pathname}${url.search}`,
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    body: Buffer.from(body),
  };
}

const withHeaders = (request: ReceivedRequest, headers: IncomingHttpHeaders): ReceivedRequest => ({
  ...request,
  headers: { ...request.headers, ...headers },
});

describe('verifySigV4', () => {
  it('accepts a request signed with a known key, for this service and region, now', async () => {
    expect(await verifySigV4(await received(), options)).toMatchObject({ ok: true, principal: 'operator' });
  });

  it.each<[string, () => Promise<ReceivedRequest>, string]>([
    [
      'no Authorization header',
      async () => withHeaders(await received(), { authorization: undefined }),
      'MissingAuthenticationToken',
    ],
    [
      'another secret for the same key id',
      () => received({ key: { ...KEY, secretAccessKey: 'guessed' } }),
      'SignatureDoesNotMatch',
    ],
    [
      'a key id the platform never issued',
      () => received({ key: { ...KEY, accessKeyId: 'AKIAIOSFODNN7EXAMPLE' } }),
      'InvalidClientTokenId',
    ],
    ['a signature for another service (kms)', () => received({ service: 'kms' }), 'SignatureDoesNotMatch'],
    ['a date 6 minutes ago', () => received({ at: NOW - 6 * 60_000 }), 'RequestExpired'],
    ['a date 6 minutes ahead', () => received({ at: NOW + 6 * 60_000 }), 'RequestExpired'],
    [
      'a body changed after signing',
      async () => ({ ...(await received()), body: Buffer.from('{"version":"6.6.6"}') }),
      'SignatureDoesNotMatch',
    ],
    [
      'a body and its declared hash changed after signing',
      async () => {
        const forged = await received({ body: '{"version":"6.6.6"}' });
        const original = withHeaders(await received(), {
          'x-amz-content-sha256': forged.headers['x-amz-content-sha256'],
        });
        return { ...original, body: forged.body };
      },
      'SignatureDoesNotMatch',
    ],
    [
      'another Host than the one signed',
      async () => withHeaders(await received(), { host: 'evil.example:3000' }),
      'SignatureDoesNotMatch',
    ],
    [
      'another path than the one signed',
      async () => ({ ...(await received()), target: '/firmware/2.0.0/complete?x=1&a=b%20c' }),
      'SignatureDoesNotMatch',
    ],
    [
      'another query than the one signed',
      async () => ({ ...(await received()), target: '/firmware/1.0.0%2Bb/complete?x=2&a=b%20c' }),
      'SignatureDoesNotMatch',
    ],
    [
      'a signed header missing from the request',
      async () => withHeaders(await received(), { 'content-type': undefined }),
      'SignatureDoesNotMatch',
    ],
    [
      'a header that is not a SigV4 signature',
      async () => withHeaders(await received(), { authorization: 'Bearer abc' }),
      'IncompleteSignature',
    ],
  ])('refuses %s', async (_name, request, code) => {
    expect(await verifySigV4(await request(), options)).toMatchObject({ ok: false, code });
  });

  it('accepts a date 4 minutes off, inside the 5-minute window', async () => {
    expect(await verifySigV4(await received({ at: NOW - 4 * 60_000 }), options)).toMatchObject({ ok: true });
    expect(await verifySigV4(await received({ at: NOW + 4 * 60_000 }), options)).toMatchObject({ ok: true });
  });

  it('refuses a signature that leaves the host header out', async () => {
    // Prepare: signed by a client told not to sign host
    const signer = new SignatureV4({
      service: 'execute-api',
      region: 'us-east-1',
      credentials: KEY,
      sha256: Sha256,
    });
    const signed = await signer.sign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: '/devices',
        headers: { host: '127.0.0.1:3000' },
      },
      { signingDate: new Date(NOW), unsignableHeaders: new Set(['host']) },
    );
    // Act
    const check = await verifySigV4(
      { method: 'GET', target: '/devices', headers: signed.headers, body: Buffer.alloc(0) },
      options,
    );
    // Assess
    expect(String(signed.headers.authorization)).not.toContain('host');
    expect(check).toMatchObject({ ok: false, code: 'IncompleteSignature' });
  });

  /**
   * AWS's SigV4 test suite (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
   * links it): requests signed by AWS's own reference, verified here, so the verifier's canonical request
   * is AWS's and not merely the same as the signer's.
   */
  it.each([
    ['get-vanilla', '/', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'],
    [
      'get-vanilla-query-order-key-case',
      '/?Param2=value2&Param1=value1',
      'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
    ],
  ])("accepts AWS's %s vector and refuses it with one digit changed", async (_name, target, signature) => {
    const suiteKey = {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    };
    const suite = {
      service: 'service',
      region: 'us-east-1',
      lookup: (id: string) =>
        id === suiteKey.accessKeyId ? { key: suiteKey, principal: 'suite' } : undefined,
      now: () => Date.parse('2015-08-30T12:36:00Z'),
    };
    const request = (sig: string): ReceivedRequest => ({
      method: 'GET',
      target,
      headers: {
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${sig}`,
      },
      body: Buffer.alloc(0),
    });
    const altered = `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;

    expect(await verifySigV4(request(signature), suite)).toMatchObject({ ok: true, principal: 'suite' });
    expect(await verifySigV4(request(altered), suite)).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
  });
});
