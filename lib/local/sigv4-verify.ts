import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AccessKey } from './credentials.ts';
import { payloadHash, Sha256, signableQuery } from './sigv4.ts';

/** How far a request's `x-amz-date` may be from the server's clock, either way, as in AWS: 5 minutes. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** A received request, as the verifier needs it. */
export interface ReceivedRequest {
  readonly method: string;
  /** The request target as received: path and query, percent-encoded (`req.url`). */
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Uint8Array;
}

/** Why a signature was refused, in AWS's words (the error codes its services answer with). */
export interface SignatureRefusal {
  readonly ok: false;
  readonly code:
    | 'MissingAuthenticationToken'
    | 'IncompleteSignature'
    | 'InvalidClientTokenId'
    | 'SignatureDoesNotMatch'
    | 'RequestExpired';
  readonly message: string;
}

export type SignatureCheck<P> =
  | { readonly ok: true; readonly principal: P; readonly accessKeyId: string }
  | SignatureRefusal;

export interface VerifyOptions<P> {
  /** The signing name of the service (`execute-api`, `kms`, `iotdata`). */
  readonly service: string;
  readonly region: string;
  /** The secret of an access key id, and whom it belongs to; undefined for an unknown key. */
  readonly lookup: (accessKeyId: string) => { readonly key: AccessKey; readonly principal: P } | undefined;
  readonly now: () => number;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const refuse = (code: SignatureRefusal['code'], message: string): SignatureRefusal => ({
  ok: false,
  code,
  message,
});

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * Checks a request's SigV4 `Authorization` header (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
 * the credential scope (a known key, this service and region, the date of `x-amz-date`), the date within
 * {@link MAX_CLOCK_SKEW_MS} of now, `host` among the signed headers, a signed `x-amz-content-sha256`
 * equal to the body's hash, and the signature itself — recomputed with `@smithy/signature-v4` over the
 * headers the client says it signed and compared in constant time.
 */
export async function verifySigV4<P>(
  request: ReceivedRequest,
  options: VerifyOptions<P>,
): Promise<SignatureCheck<P>> {
  const authorization = header(request.headers, 'authorization');
  if (authorization === undefined || authorization === '') {
    return refuse('MissingAuthenticationToken', 'the request is not signed (no Authorization header)');
  }
  const parts = AUTHORIZATION.exec(authorization);
  if (parts === null) {
    return refuse('IncompleteSignature', 'the Authorization header is not an AWS4-HMAC-SHA256 signature');
  }
  const [accessKeyId, shortDate, region, service, terminator, ...extra] = (parts[1] as string).split('/');
  const signedHeaders = (parts[2] as string).split(';');
  const signature = parts[3] as string;
  if (terminator !== 'aws4_request' || extra.length > 0 || accessKeyId === undefined) {
    return refuse(
      'IncompleteSignature',
      'the credential scope is not <key>/<date>/<region>/<service>/aws4_request',
    );
  }
  if (service !== options.service || region !== options.region) {
    return refuse(
      'SignatureDoesNotMatch',
      `the credential scope names ${region}/${service}; this endpoint is ${options.region}/${options.service}`,
    );
  }
  const found = options.lookup(accessKeyId);
  if (found === undefined) {
    return refuse('InvalidClientTokenId', `the access key id ${accessKeyId} is not known to this platform`);
  }
  const amzDate = header(request.headers, 'x-amz-date') ?? '';
  const date = AMZ_DATE.exec(amzDate);
  if (date === null || !signedHeaders.includes('x-amz-date')) {
    return refuse('IncompleteSignature', 'a signed x-amz-date header (yyyyMMddTHHmmssZ) is required');
  }
  const signingDate = new Date(`${date[1]}-${date[2]}-${date[3]}T${date[4]}:${date[5]}:${date[6]}Z`);
  if (Number.isNaN(signingDate.getTime()) || amzDate.slice(0, 8) !== shortDate) {
    return refuse('IncompleteSignature', 'x-amz-date is not a date, or not the date of the credential scope');
  }
  if (Math.abs(options.now() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) {
    return refuse(
      'RequestExpired',
      `signature expired: ${amzDate} is more than 5 minutes from the server time ${new Date(options.now()).toISOString()}`,
    );
  }
  // Without a signed host a signature is replayable against any name the server answers to.
  if (!signedHeaders.includes('host')) {
    return refuse('IncompleteSignature', 'the host header must be signed');
  }
  const declaredHash = header(request.headers, 'x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== payloadHash(request.body)) {
    return refuse('SignatureDoesNotMatch', 'x-amz-content-sha256 is not the SHA-256 of the body');
  }
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = header(request.headers, name);
    if (value === undefined)
      return refuse('SignatureDoesNotMatch', `signed header ${name} is not in the request`);
    headers[name] = value;
  }
  const url = new URL(request.target, 'http://signed.invalid');
  const signer = new SignatureV4({
    service: options.service,
    region: options.region,
    credentials: found.key,
    sha256: Sha256,
    // The headers are the ones the client signed; none is added here.
    applyChecksum: false,
  });
  const expected = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: url.hostname,
      path: request.target.split('?')[0] ?? '/',
      query: signableQuery(url.searchParams),
      headers,
      body: request.body,
    },
    { signingDate, signableHeaders: new Set(signedHeaders) },
  );
  const computed = /Signature=([0-9a-f]{64})$/.exec(String(expected.headers.authorization))?.[1] ?? '';
  const matches =
    computed.length === signature.length && timingSafeEqual(Buffer.from(computed), Buffer.from(signature));
  if (!matches) {
    return refuse(
      'SignatureDoesNotMatch',
      'the request signature we calculated does not match the signature you provided; check your key and signing method',
    );
  }
  return { ok: true, principal: found.principal, accessKeyId: found.key.accessKeyId };
}
