import { createHash, createPublicKey, createVerify, type KeyObject } from 'node:crypto';

/**
 * Firmware signatures: ECDSA over NIST P-256, on the SHA-256 digest of the image.
 *
 * How the bytes relate. The cloud computes `digest = SHA-256(image)` (32 bytes) and asks KMS to sign
 * it with `SigningAlgorithm: ECDSA_SHA_256, MessageType: DIGEST`. With DIGEST, KMS signs those 32
 * bytes as the hash value `e` of ECDSA (FIPS 186-4 §6.4) and does not hash them again; the result is
 * an ASN.1 DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 §2.2.3), base64 in
 * the job document. That is exactly the signature `crypto.sign('sha256', image, key)` makes with
 * node:crypto (OpenSSL hashes the image with SHA-256 and signs the digest), so both verify with
 * `crypto.verify('sha256', image, publicKey, signature)`.
 *
 * node:crypto has no way to verify over a digest it did not compute itself: `crypto.verify(null,
 * digest, ecKey, sig)` is not a "raw" mode — for EC keys OpenSSL's default digest is SHA-256, so it
 * checks a signature over SHA-256(digest), a double hash that a KMS DIGEST signature never matches.
 * {@link verifyDigestSignature} therefore does the ECDSA verification equation itself, on the digest,
 * with node:crypto parsing and validating the key; its tests hold it to OpenSSL's answer.
 */

/** NIST P-256 (FIPS 186-4 §D.1.2.3; SEC 2 secp256r1). */
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const A = P - 3n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n;
const GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n;

/** A point in Jacobian coordinates (x = X/Z², y = Y/Z³); Z = 0 is the point at infinity. */
type Jacobian = readonly [bigint, bigint, bigint];
const INFINITY: Jacobian = [0n, 1n, 0n];

const mod = (v: bigint, m: bigint) => {
  const r = v % m;
  return r < 0n ? r + m : r;
};

function powMod(base: bigint, exponent: bigint, m: bigint): bigint {
  let result = 1n;
  let b = mod(base, m);
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}

/** Inverse modulo a prime (Fermat). */
const invMod = (v: bigint, m: bigint) => powMod(v, m - 2n, m);

function double([x, y, z]: Jacobian): Jacobian {
  if (z === 0n || y === 0n) return INFINITY;
  const yy = (y * y) % P;
  const s = (4n * x * yy) % P;
  const zz = (z * z) % P;
  const m = mod(3n * x * x + A * zz * zz, P);
  const x3 = mod(m * m - 2n * s, P);
  const y3 = mod(m * (s - x3) - 8n * yy * yy, P);
  return [x3, y3, (2n * y * z) % P];
}

function add(p: Jacobian, q: Jacobian): Jacobian {
  const [x1, y1, z1] = p;
  const [x2, y2, z2] = q;
  if (z1 === 0n) return q;
  if (z2 === 0n) return p;
  const z1z1 = (z1 * z1) % P;
  const z2z2 = (z2 * z2) % P;
  const u1 = (x1 * z2z2) % P;
  const u2 = (x2 * z1z1) % P;
  const s1 = (y1 * z2 * z2z2) % P;
  const s2 = (y2 * z1 * z1z1) % P;
  const h = mod(u2 - u1, P);
  const r = mod(s2 - s1, P);
  if (h === 0n) return r === 0n ? double(p) : INFINITY;
  const hh = (h * h) % P;
  const hhh = (h * hh) % P;
  const v = (u1 * hh) % P;
  const x3 = mod(r * r - hhh - 2n * v, P);
  const y3 = mod(r * (v - x3) - s1 * hhh, P);
  return [x3, y3, (h * z1 * z2) % P];
}

/** u1·G + u2·Q with Shamir's trick (one pass of doublings over both scalars). */
function doubleScalarMultiply(u1: bigint, g: Jacobian, u2: bigint, q: Jacobian): Jacobian {
  const gq = add(g, q);
  let acc = INFINITY;
  const bits = Math.max(u1.toString(2).length, u2.toString(2).length);
  for (let i = bits - 1; i >= 0; i--) {
    acc = double(acc);
    const b1 = (u1 >> BigInt(i)) & 1n;
    const b2 = (u2 >> BigInt(i)) & 1n;
    if (b1 && b2) acc = add(acc, gq);
    else if (b1) acc = add(acc, g);
    else if (b2) acc = add(acc, q);
  }
  return acc;
}

const isOnCurve = (x: bigint, y: bigint) => mod(y * y - (x * x * x + A * x + B), P) === 0n;

const toBigInt = (bytes: Uint8Array) =>
  bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);

/** Reads one strict-DER INTEGER (positive, minimally encoded) at `offset`; undefined if malformed. */
function readDerInteger(der: Uint8Array, offset: number): { value: bigint; next: number } | undefined {
  if (der[offset] !== 0x02) return undefined;
  const length = der[offset + 1];
  if (length === undefined || length === 0 || length > 33) return undefined;
  const start = offset + 2;
  const body = der.subarray(start, start + length);
  if (body.length !== length) return undefined;
  const first = body[0] ?? 0;
  const second = body[1];
  if (first & 0x80) return undefined; // negative
  if (first === 0 && length > 1 && second !== undefined && (second & 0x80) === 0) return undefined; // not minimal
  return { value: toBigInt(body), next: start + length };
}

/** Splits a DER `ECDSA-Sig-Value` into (r, s); undefined unless it is exactly one well-formed SEQUENCE of two INTEGERs. */
export function parseDerSignature(der: Uint8Array): { r: bigint; s: bigint } | undefined {
  // P-256 signatures are at most 72 bytes, so the SEQUENCE length always has the short form.
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2 || (der[1] ?? 0) >= 0x80)
    return undefined;
  const r = readDerInteger(der, 2);
  if (r === undefined) return undefined;
  const s = readDerInteger(der, r.next);
  if (s === undefined || s.next !== der.length) return undefined;
  return { r: r.value, s: s.value };
}

/** A P-256 public key from PEM (SPKI), checked by node:crypto; throws for anything else. */
export function p256PublicKey(publicKeyPem: string | KeyObject): KeyObject {
  const key = typeof publicKeyPem === 'string' ? createPublicKey(publicKeyPem) : publicKeyPem;
  if (
    key.type !== 'public' ||
    key.asymmetricKeyType !== 'ec' ||
    key.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
  ) {
    throw new TypeError(
      `expected a P-256 (prime256v1) public key, got ${key.type} ${key.asymmetricKeyType ?? '?'} ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trim(),
    );
  }
  return key;
}

/**
 * Verifies an ECDSA P-256 signature over a precomputed SHA-256 digest, as KMS makes it with
 * `MessageType: DIGEST` (see the module comment for how the bytes relate).
 *
 * @param digestBytes the 32-byte SHA-256 digest of the image (the hash value `e`, not hashed again)
 * @param derSignature the DER `ECDSA-Sig-Value` (decode the job document's base64 first)
 * @param publicKeyPem the signer's P-256 public key, SPKI PEM
 * @returns true only for a valid signature; false for a wrong or malformed one
 * @throws TypeError if the digest is not 32 bytes or the key is not a P-256 public key
 */
export function verifyDigestSignature(
  digestBytes: Uint8Array,
  derSignature: Uint8Array,
  publicKeyPem: string | KeyObject,
): boolean {
  if (digestBytes.length !== 32)
    throw new TypeError(`expected a 32-byte SHA-256 digest, got ${digestBytes.length} bytes`);
  const jwk = p256PublicKey(publicKeyPem).export({ format: 'jwk' });
  if (jwk.x === undefined || jwk.y === undefined) throw new TypeError('public key has no coordinates');
  const qx = toBigInt(Buffer.from(jwk.x, 'base64url'));
  const qy = toBigInt(Buffer.from(jwk.y, 'base64url'));
  if (qx >= P || qy >= P || !isOnCurve(qx, qy)) throw new TypeError('public key is not a point on P-256');

  const signature = parseDerSignature(derSignature);
  if (signature === undefined) return false;
  const { r, s } = signature;
  // FIPS 186-4 §6.4.2: r and s must be in [1, n-1]. High s is valid ECDSA (OpenSSL accepts it too).
  if (r < 1n || r >= N || s < 1n || s >= N) return false;
  // The digest is as long as n, so e is the whole digest (no leftmost-bits truncation).
  const e = mod(toBigInt(digestBytes), N);
  const w = invMod(s, N);
  const point = doubleScalarMultiply((e * w) % N, [GX, GY, 1n], (r * w) % N, [qx, qy, 1n]);
  const [x, , z] = point;
  if (z === 0n) return false;
  const zInv = invMod(z, P);
  const affineX = (x * zInv * zInv) % P;
  return affineX % N === r;
}

/** What one pass over an image yields: its SHA-256 digest and whether the signature verifies. */
export interface ImageCheck {
  readonly size: number;
  readonly sha256: Buffer;
  readonly signatureValid: boolean;
}

/**
 * Hashes an image and checks its signature in one pass, with OpenSSL doing both: `createVerify('sha256')`
 * over the image checks the same equation as {@link verifyDigestSignature} over SHA-256(image).
 */
export async function checkImage(
  chunks: AsyncIterable<Uint8Array>,
  derSignature: Uint8Array,
  publicKeyPem: string | KeyObject,
): Promise<ImageCheck> {
  const key = p256PublicKey(publicKeyPem);
  const hash = createHash('sha256');
  const verifier = createVerify('sha256');
  let size = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    verifier.update(chunk);
    size += chunk.length;
  }
  let signatureValid: boolean;
  try {
    signatureValid = verifier.verify({ key, dsaEncoding: 'der' }, derSignature);
  } catch {
    // OpenSSL throws on some malformed DER instead of returning false; either way it is not valid.
    signatureValid = false;
  }
  return { size, sha256: hash.digest(), signatureValid };
}
