import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkImage, parseDerSignature, verifyDigestSignature } from '../../../../edge/src/ota/signature.ts';
import { makeImage, makeKey } from './support.ts';

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest();

/** DER ECDSA-Sig-Value from (r, s), minimally encoded. */
function der(r: bigint, s: bigint): Buffer {
  const int = (v: bigint) => {
    let hex = v.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    let bytes = Buffer.from(hex, 'hex');
    if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

async function* chunks(bytes: Buffer, size = 1000): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('verifyDigestSignature: ECDSA P-256 over a precomputed SHA-256 digest (KMS MessageType DIGEST)', () => {
  it('accepts what crypto.sign("sha256", image) makes, given SHA-256(image) — for many keys and images', () => {
    for (let i = 0; i < 40; i++) {
      // Prepare
      const key = makeKey();
      const image = makeImage(100 + i * 37, `image-${i}`);
      // Act
      const signature = sign('sha256', image, key.privateKey);
      // Assess
      expect(verifyDigestSignature(sha256(image), signature, key.publicKeyPem)).toBe(true);
    }
  });

  it('crypto.sign(null, digest) is not a raw mode for EC keys: it signs SHA-256(digest), which a digest check refuses', () => {
    // Prepare
    const key = makeKey();
    const digest = sha256(makeImage(512));
    // Act
    const doubleHashed = sign(null, digest, key.privateKey);
    // Assess
    expect(verifyDigestSignature(digest, doubleHashed, key.publicKeyPem)).toBe(false);
    expect(verifyDigestSignature(sha256(digest), doubleHashed, key.publicKeyPem)).toBe(true);
  });

  it('agrees with OpenSSL on signatures with flipped bits', () => {
    const key = makeKey();
    const image = makeImage(2048);
    const signature = sign('sha256', image, key.privateKey);
    for (let byte = 0; byte < signature.length; byte += 3) {
      const bad = Buffer.from(signature);
      bad[byte] = (bad[byte] ?? 0) ^ 0x01;
      const openssl = (() => {
        try {
          return verify('sha256', image, { key: key.publicKeyPem, dsaEncoding: 'der' }, bad);
        } catch {
          return false;
        }
      })();
      expect(verifyDigestSignature(sha256(image), bad, key.publicKeyPem), `byte ${byte}`).toBe(openssl);
    }
  });

  it('accepts the high-S twin (r, n − s), as OpenSSL does', () => {
    const key = makeKey();
    const image = makeImage(300);
    const parsed = parseDerSignature(sign('sha256', image, key.privateKey));
    if (parsed === undefined) throw new Error('unparseable signature');
    const twin = der(parsed.r, N - parsed.s);
    expect(verify('sha256', image, { key: key.publicKeyPem, dsaEncoding: 'der' }, twin)).toBe(true);
    expect(verifyDigestSignature(sha256(image), twin, key.publicKeyPem)).toBe(true);
  });

  it.each([
    ['another digest', (d: Buffer) => ({ digest: Buffer.from(d).fill(7, 0, 1) })],
    ['r = 0', () => ({ signature: der(0n, 5n) })],
    ['s = 0', () => ({ signature: der(5n, 0n) })],
    ['r = n', () => ({ signature: der(N, 5n) })],
    ['s = n', () => ({ signature: der(5n, N) })],
    ['empty signature', () => ({ signature: Buffer.alloc(0) })],
    ['raw r‖s instead of DER', () => ({ signature: Buffer.alloc(64, 1) })],
  ])('refuses %s', (_name, change) => {
    const key = makeKey();
    const image = makeImage(64);
    const base = { digest: sha256(image), signature: sign('sha256', image, key.privateKey) };
    const { digest, signature } = { ...base, ...change(base.digest) };
    expect(verifyDigestSignature(digest, signature, key.publicKeyPem)).toBe(false);
  });

  it('refuses a signature from another key', () => {
    const image = makeImage(64);
    expect(
      verifyDigestSignature(
        sha256(image),
        sign('sha256', image, makeKey().privateKey),
        makeKey().publicKeyPem,
      ),
    ).toBe(false);
  });

  it('refuses DER with trailing bytes or non-minimal integers', () => {
    const key = makeKey();
    const image = makeImage(64);
    const signature = sign('sha256', image, key.privateKey);
    const parsed = parseDerSignature(signature);
    if (parsed === undefined) throw new Error('unparseable signature');
    const trailing = Buffer.concat([signature, Buffer.from([0])]);
    const canonical = der(parsed.r, parsed.s);
    expect(verifyDigestSignature(sha256(image), trailing, key.publicKeyPem)).toBe(false);
    expect(
      parseDerSignature(Buffer.from([0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01])),
    ).toBeUndefined();
    expect(parseDerSignature(canonical)).toEqual(parsed);
  });

  it('throws for a digest that is not 32 bytes, and for keys that are not P-256', () => {
    const key = makeKey();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    expect(() => verifyDigestSignature(Buffer.alloc(31), Buffer.alloc(8), key.publicKeyPem)).toThrow(
      TypeError,
    );
    expect(() => verifyDigestSignature(Buffer.alloc(32), Buffer.alloc(8), rsa)).toThrow(TypeError);
    expect(() => verifyDigestSignature(Buffer.alloc(32), Buffer.alloc(8), p384)).toThrow(TypeError);
  });
});

describe('checkImage: one pass, SHA-256 and the signature by OpenSSL', () => {
  it('gives the digest verifyDigestSignature accepts, and the same verdict', async () => {
    const key = makeKey();
    const image = makeImage(5000);
    const signature = sign('sha256', image, key.privateKey);
    const check = await checkImage(chunks(image), signature, key.publicKeyPem);
    expect(check).toMatchObject({ size: 5000, signatureValid: true });
    expect(check.sha256.equals(sha256(image))).toBe(true);
    expect(verifyDigestSignature(check.sha256, signature, key.publicKeyPem)).toBe(true);
    const tampered = Buffer.from(image);
    tampered[0] = (tampered[0] ?? 0) ^ 1;
    const bad = await checkImage(chunks(tampered), signature, key.publicKeyPem);
    expect(bad.signatureValid).toBe(false);
    expect(verifyDigestSignature(bad.sha256, signature, key.publicKeyPem)).toBe(false);
  });
});
