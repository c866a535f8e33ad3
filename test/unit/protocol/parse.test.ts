import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { PayloadDecodeError, SchemaValidationError } from '../../../lib/protocol/errors.ts';
import { statusMessage } from '../../../lib/protocol/messages.ts';
import { decodeJson, parseJsonMessage, parseWith, toFieldIssues } from '../../../lib/protocol/parse.ts';

const bytes = (...values: number[]) => Uint8Array.from(values);
const utf8 = (text: string) => new TextEncoder().encode(text);

function thrown(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('decodeJson', () => {
  it.each<[string, Uint8Array | string, unknown]>([
    ['a UTF-8 object', utf8('{"a":1,"b":[true,null]}'), { a: 1, b: [true, null] }],
    ['multi-byte UTF-8 text', utf8('{"unit":"°C","name":"Zürich"}'), { unit: '°C', name: 'Zürich' }],
    ['a string rather than bytes', '{"a":"x"}', { a: 'x' }],
    ['a JSON scalar', utf8('42'), 42],
    ['JSON null', utf8('null'), null],
  ])('decodes %s', (_rule, input, expected) => {
    expect(decodeJson(input, 'test payload')).toStrictEqual(expected);
  });

  it.each<[string, Uint8Array]>([
    ['a lone continuation byte', bytes(0x7b, 0x80, 0x7d)],
    ['0xFF', bytes(0xff)],
    ['an overlong encoding of /', bytes(0xc0, 0xaf)],
    ['a UTF-16 surrogate encoded as UTF-8', bytes(0x22, 0xed, 0xa0, 0x80, 0x22)],
    ['a truncated multi-byte sequence', bytes(0x22, 0xe2, 0x82, 0x22)],
  ])('refuses %s as not UTF-8, with a PayloadDecodeError', (_rule, input) => {
    // Act
    const error = thrown(() => decodeJson(input, 'status message'));

    // Assess
    expect(error).toBeInstanceOf(PayloadDecodeError);
    expect((error as PayloadDecodeError).subject).toBe('status message');
    expect((error as Error).message).toMatch(/UTF-8/);
  });

  it.each<[string, Uint8Array | string]>([
    ['empty bytes', bytes()],
    ['a truncated object', utf8('{"a":')],
    ['single quotes', utf8("{'a':1}")],
    ['NaN', utf8('{"a":NaN}')],
    ['Infinity', utf8('{"a":Infinity}')],
    ['a trailing comma', '{"a":1,}'],
    ['plain text', 'hello'],
  ])('refuses %s as not JSON, with a PayloadDecodeError', (_rule, input) => {
    // Act
    const error = thrown(() => decodeJson(input, 'status message'));

    // Assess
    expect(error).toBeInstanceOf(PayloadDecodeError);
    expect((error as Error).message).toMatch(/^invalid status message: not valid JSON/);
  });
});

describe('parseJsonMessage', () => {
  it('decodes and validates a message, stripping unknown keys', () => {
    // Act
    const parsed = parseJsonMessage(
      statusMessage,
      utf8('{"firmwareVersion":"1.0.0","x":1}'),
      'status message',
    );

    // Assess
    expect(parsed).toStrictEqual({ firmwareVersion: '1.0.0' });
  });

  it.each<[string, Uint8Array | string, typeof PayloadDecodeError | typeof SchemaValidationError]>([
    ['invalid UTF-8', bytes(0xff, 0xfe), PayloadDecodeError],
    ['invalid JSON', '{"firmwareVersion":', PayloadDecodeError],
    ['JSON of the wrong shape', '{"firmwareVersion":1}', SchemaValidationError],
  ])('refuses %s with the matching error type', (_rule, input, errorType) => {
    expect(() => parseJsonMessage(statusMessage, input, 'status message')).toThrow(errorType);
  });
});

describe('parseWith and toFieldIssues', () => {
  const schema = z.object({
    a: z.object({ b: z.array(z.object({ c: z.number().max(1, 'must be <= 1') })) }),
  });

  it('returns the parsed value when the input is valid', () => {
    expect(parseWith(schema, { a: { b: [{ c: 1 }] } }, 'thing')).toStrictEqual({ a: { b: [{ c: 1 }] } });
  });

  it.each<[string, unknown, string, string]>([
    ['a nested array element by dotted path', { a: { b: [{ c: 0 }, { c: 2 }] } }, 'a.b.1.c', 'must be <= 1'],
    [
      'the whole message as (root)',
      'not an object',
      '(root)',
      'Invalid input: expected object, received string',
    ],
  ])('names %s', (_rule, input, field, reason) => {
    // Act
    const error = thrown(() => parseWith(schema, input, 'thing message'));

    // Assess
    expect(error).toBeInstanceOf(SchemaValidationError);
    expect((error as SchemaValidationError).issues).toEqual([{ field, reason }]);
    expect((error as Error).message).toBe(`invalid thing message: ${field}: ${reason}`);
  });

  it('converts zod issues to field / reason pairs', () => {
    // Act
    const issues = toFieldIssues([
      {
        code: 'custom',
        path: ['readings', 0, 'values', 'temperature'],
        message: 'must be a finite number',
        input: 'x',
      },
      { code: 'custom', path: [], message: 'bad', input: 'x' },
    ]);

    // Assess
    expect(issues).toEqual([
      { field: 'readings.0.values.temperature', reason: 'must be a finite number' },
      { field: '(root)', reason: 'bad' },
    ]);
  });
});
