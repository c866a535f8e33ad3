import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type EndpointGuard, type GuardResult, readBody } from './endpoint-guard.ts';
import { mayUseKey, type Principal } from './principals.ts';
import type { LocalSigningKey } from './signing-keys.ts';

/** The embedded stand-in for AWS KMS, as far as fleetkit's signing keys use it. */
export interface LocalKms {
  readonly endpoint: string;
  close(): Promise<void>;
}

const KEY_SPEC = 'ECC_NIST_P256';
const SIGNING_ALGORITHM = 'ECDSA_SHA_256';
const DIGEST_BYTES = 32;
/** KMS signs RAW messages of up to 4096 bytes. */
const MAX_RAW_BYTES = 4096;

/** A KMS error: `__type` is how the SDK's awsJson1_1 protocol names the exception it throws. */
class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** One request to an operation: its JSON body, who signed it, and the operation's name. */
interface KmsCall {
  readonly request: Record<string, unknown>;
  readonly caller: Principal;
  readonly operation: string;
}

/** The exception KMS names for each way a signature fails. */
/** The exception an AWS API names for each way a request can fail the guard. */
export const SIGNATURE_ERRORS: Readonly<Record<Exclude<GuardResult, { ok: true }>['code'], string>> = {
  ForbiddenHost: 'AccessDeniedException',
  MissingAuthenticationToken: 'MissingAuthenticationTokenException',
  IncompleteSignature: 'IncompleteSignatureException',
  InvalidClientTokenId: 'UnrecognizedClientException',
  SignatureDoesNotMatch: 'InvalidSignatureException',
  RequestExpired: 'InvalidSignatureException',
};

function reply(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': String(Buffer.byteLength(text)),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}

function field(request: Record<string, unknown>, name: string): string {
  const value = request[name];
  if (typeof value !== 'string' || value === '') {
    throw new KmsError('ValidationException', `1 validation error detected: ${name} must not be null`);
  }
  return value;
}

function blob(request: Record<string, unknown>, name: string): Buffer {
  return Buffer.from(field(request, name), 'base64');
}

/** The message to sign or verify as the 32 bytes ECDSA_SHA_256 signs: given (DIGEST) or hashed here (RAW). */
function digestOf(request: Record<string, unknown>): Buffer {
  const message = blob(request, 'Message');
  const type = request.MessageType ?? 'RAW';
  if (type === 'DIGEST') {
    if (message.length !== DIGEST_BYTES) {
      throw new KmsError(
        'ValidationException',
        `Digest is invalid length for algorithm ${SIGNING_ALGORITHM}: ${message.length} bytes, expected ${DIGEST_BYTES}`,
      );
    }
    return message;
  }
  if (type !== 'RAW') {
    throw new KmsError('ValidationException', `MessageType ${String(type)} is not supported for ${KEY_SPEC}`);
  }
  if (message.length > MAX_RAW_BYTES) {
    throw new KmsError('ValidationException', `Message must be at most ${MAX_RAW_BYTES} bytes; use DIGEST`);
  }
  return createHash('sha256').update(message).digest();
}

function checkAlgorithm(request: Record<string, unknown>, key: LocalSigningKey): void {
  const algorithm = field(request, 'SigningAlgorithm');
  if (algorithm !== SIGNING_ALGORITHM) {
    throw new KmsError(
      'InvalidKeyUsageException',
      `${key.arn} (${KEY_SPEC}) does not support signing algorithm ${algorithm}; it supports ${SIGNING_ALGORITHM}`,
    );
  }
}

/**
 * Serves AWS KMS's JSON API (`POST /`, `X-Amz-Target: TrentService.<Operation>`, awsJson1_1) on loopback
 * for the local signing keys: `Sign`, `Verify`, `GetPublicKey` and `DescribeKey`, with KMS's request
 * checks and error types (https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html). The real
 * `@aws-sdk/client-kms` works against it through `AWS_ENDPOINT_URL_KMS`: functions sign locally with the
 * code that signs in AWS. A key is found by alias name, alias ARN, key id or key ARN, as in KMS.
 *
 * Every request must be signed (SigV4, service `kms`) by a known key, and the signer must be allowed the
 * operation on the key: a function as its role is in AWS (`kms:Sign` with write, `kms:GetPublicKey` with
 * read), the operator for anything. Refusals are 403 with KMS's exception names.
 */
export async function startLocalKms(options: {
  readonly keys: ReadonlyMap<string, LocalSigningKey>;
  /** Checks `Host` and the SigV4 signature of every request. */
  readonly guard: EndpointGuard;
  readonly host?: string;
  readonly port?: number;
}): Promise<LocalKms> {
  const byId = new Map<string, LocalSigningKey>();
  for (const key of options.keys.values()) {
    const aliasArn = key.arn.replace(/:key\/.*$/, `:${key.alias}`);
    for (const id of [key.alias, aliasArn, key.keyId, key.arn]) byId.set(id, key);
  }
  const find = ({ request, caller, operation }: KmsCall): LocalSigningKey => {
    const id = field(request, 'KeyId');
    const key = byId.get(id);
    // As in KMS, a caller without access learns nothing about whether the key exists.
    if (key === undefined || !mayUseKey(caller, operation, key.name)) {
      if (caller.kind === 'function') {
        throw new KmsError(
          'AccessDeniedException',
          `function ${caller.name} is not authorized to perform kms:${operation} on ${id}`,
          403,
        );
      }
      throw new KmsError(
        'NotFoundException',
        id.startsWith('alias/') ? `Alias ${id} is not found.` : `Key '${id}' does not exist`,
      );
    }
    return key;
  };

  const operations: Record<string, (call: KmsCall) => object> = {
    Sign: (call) => {
      const { request } = call;
      const key = find(call);
      checkAlgorithm(request, key);
      const digest = digestOf(request);
      return {
        KeyId: key.arn,
        Signature: Buffer.from(key.signDigest(digest)).toString('base64'),
        SigningAlgorithm: SIGNING_ALGORITHM,
      };
    },
    Verify: (call) => {
      const { request } = call;
      const key = find(call);
      checkAlgorithm(request, key);
      const valid = key.verifyDigest(digestOf(request), blob(request, 'Signature'));
      if (!valid) throw new KmsError('KMSInvalidSignatureException', 'Signature is not valid');
      return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: SIGNING_ALGORITHM };
    },
    GetPublicKey: (call) => {
      const key = find(call);
      return {
        KeyId: key.arn,
        PublicKey: Buffer.from(key.publicKeyDer).toString('base64'),
        KeySpec: KEY_SPEC,
        CustomerMasterKeySpec: KEY_SPEC,
        KeyUsage: 'SIGN_VERIFY',
        SigningAlgorithms: [SIGNING_ALGORITHM],
      };
    },
    DescribeKey: (call) => {
      const key = find(call);
      return {
        KeyMetadata: {
          AWSAccountId: key.arn.split(':')[4],
          KeyId: key.keyId,
          Arn: key.arn,
          CreationDate: key.createdAt / 1000,
          Enabled: true,
          KeyState: 'Enabled',
          KeyUsage: 'SIGN_VERIFY',
          KeySpec: KEY_SPEC,
          CustomerMasterKeySpec: KEY_SPEC,
          SigningAlgorithms: [SIGNING_ALGORITHM],
          Origin: 'AWS_KMS',
          KeyManager: 'CUSTOMER',
          MultiRegion: false,
          Description: `fleetkit local signing key '${key.name}'`,
        },
      };
    },
  };

  const handle = async (req: IncomingMessage): Promise<[number, object]> => {
    const body = (await readBody(req)) ?? Buffer.alloc(0);
    const signed = await options.guard.check(req, body);
    if (!signed.ok) return [403, { __type: SIGNATURE_ERRORS[signed.code], message: signed.message }];
    const target = req.headers['x-amz-target'];
    const name = typeof target === 'string' ? /^TrentService\.(\w+)$/.exec(target)?.[1] : undefined;
    const run = name === undefined ? undefined : operations[name];
    if (req.method !== 'POST' || run === undefined) {
      return [
        400,
        {
          __type: 'UnknownOperationException',
          message: `the local KMS serves ${Object.keys(operations).join(', ')}; got ${String(target)}`,
        },
      ];
    }
    let request: unknown;
    try {
      request = JSON.parse(body.toString('utf8') || '{}');
    } catch {
      return [400, { __type: 'SerializationException', message: 'request body is not JSON' }];
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return [400, { __type: 'SerializationException', message: 'request body is not a JSON object' }];
    }
    try {
      return [
        200,
        run({
          request: request as Record<string, unknown>,
          caller: signed.principal,
          operation: name as string,
        }),
      ];
    } catch (error) {
      if (error instanceof KmsError) return [error.status, { __type: error.type, message: error.message }];
      return [500, { __type: 'KMSInternalException', message: (error as Error).message }];
    }
  };

  const server = createServer((req, res) => {
    handle(req).then(
      ([status, body]) => reply(res, status, body),
      (error: Error) => reply(res, 500, { __type: 'KMSInternalException', message: error.message }),
    );
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  return {
    endpoint: `http://${host}:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
