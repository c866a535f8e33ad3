import { describe, expect, it } from 'vitest';
import { decodePageToken, encodePageToken } from '../../../lambdas/adapters/page-token.ts';
import { InvalidTokenError } from '../../../lambdas/domain/errors.ts';

const allowed = ['deviceId', 'deviceType'] as const;
/** base64url of a JSON text, written out so the test does not lean on the code's own encoding. */
const token = (json: string) => Buffer.from(json, 'utf8').toString('base64url');

describe('page tokens', () => {
  it.each<[string, Record<string, string>]>([
    ['a table key', { deviceId: 'A' }],
    ['an index key', { deviceId: 'dev:01', deviceType: 'tracker' }],
    ['values with characters base64 turns into + and /', { deviceId: '>>>???~~~' }],
    ['non-ASCII values', { deviceId: 'Zürich-°C' }],
  ])('round-trips %s through an opaque, URL-safe token', (_rule, key) => {
    // Act
    const encoded = encodePageToken(key);

    // Assess
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(encoded, allowed)).toStrictEqual(key);
  });

  it('decodes a token written by hand', () => {
    expect(decodePageToken('eyJkZXZpY2VJZCI6IkEifQ', allowed)).toStrictEqual({ deviceId: 'A' });
  });

  it.each<[string, string]>([
    ['the empty string', ''],
    ['garbage', '!!!not a token!!!'],
    ['base64 of text that is not JSON', token('deviceId=A')],
    ['base64 of truncated JSON', token('{"deviceId":"A"')],
    ['a JSON string', token('"A"')],
    ['a JSON number', token('42')],
    ['JSON null', token('null')],
    ['a JSON array', token('["deviceId","A"]')],
    ['an empty object', token('{}')],
    ['an attribute the table does not have', token('{"deviceId":"A","tenant":"x"}')],
    ['only unknown attributes', token('{"pk":"A"}')],
    ['a number value', token('{"deviceId":5}')],
    ['a null value', token('{"deviceId":null}')],
    ['a DynamoDB-typed value', token('{"deviceId":{"S":"A"}}')],
    ['an attribute inherited by every object', token('{"__proto__":"x"}')],
  ])('refuses %s with an InvalidTokenError', (_rule, input) => {
    expect(() => decodePageToken(input, allowed)).toThrow(InvalidTokenError);
  });
});
