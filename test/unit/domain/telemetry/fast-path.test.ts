import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type * as z from 'zod';
import { seededRandom } from '../../../../edge/src/sensors/random.ts';
import { fastRuleEvent, fastTelemetry } from '../../../../lambdas/domain/telemetry/fast-path.ts';
import { readingBatch, readingsOf, telemetryMessage } from '../../../../lib/protocol/messages.ts';
import { deviceRuleEvent } from '../../../../lib/protocol/rule-events.ts';

/**
 * The fast path must accept only what the zod schemas accept, with the same output; zod stays the
 * authority and words every refusal. These tests hold the two side by side.
 */

/** The parts of zod's internal definitions this description reads. */
interface Definition {
  readonly type?: string;
  readonly check?: string;
  readonly format?: string;
  readonly pattern?: RegExp;
  readonly value?: unknown;
  readonly inclusive?: boolean;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly checks?: readonly z.core.$ZodCheck[];
  readonly shape?: Readonly<Record<string, z.core.$ZodType>>;
  readonly innerType?: z.core.$ZodType;
  readonly keyType?: z.core.$ZodType;
  readonly valueType?: z.core.$ZodType;
  readonly element?: z.core.$ZodType;
  readonly in?: z.core.$ZodType;
  readonly out?: z.core.$ZodType;
}

/** The structure of a zod schema as one line: types, formats, patterns and check parameters. */
function describeSchema(schema: z.core.$ZodType): string {
  const def = schema._zod.def as Definition;
  const present = (parts: readonly unknown[]) => parts.filter((part) => part !== undefined).join(' ');
  const checks = (def.checks ?? []).map((check) => {
    const d = check._zod.def as Definition;
    return present([d.check, d.format, d.pattern?.source, d.value, d.inclusive, d.minimum, d.maximum]);
  });
  const inner = Object.entries(def.shape ?? {}).map(([key, value]) => `${key}: ${describeSchema(value)}`);
  for (const child of [def.innerType, def.keyType, def.valueType, def.element, def.in, def.out])
    if (child !== undefined) inner.push(describeSchema(child));
  return [
    present([def.type, def.format, def.pattern?.source]),
    checks.length > 0 ? ` [${checks.join(', ')}]` : '',
    inner.length > 0 ? ` { ${inner.join('; ')} }` : '',
  ].join('');
}

describe('the schemas the fast path mirrors', () => {
  // A tripwire: when one of these changes, review lambdas/domain/telemetry/fast-path.ts, then update it.
  it.each<[string, z.core.$ZodType, string]>([
    [
      'readingBatch (and so reading)',
      readingBatch,
      'object { readings: array [min_length 1, max_length 1000] { object { ' +
        'ts: number [number_format safeint, greater_than 946684800000 true, less_than 4102444800000 true]; ' +
        'seq: optional { number [number_format safeint, greater_than 0 true] }; ' +
        'values: record [custom] { string [string_format regex ^[a-zA-Z][a-zA-Z0-9_]{0,63}$]; number [custom] } } } }',
    ],
    ['telemetryMessage', telemetryMessage, 'pipe { unknown; transform }'],
    [
      'deviceRuleEvent',
      deviceRuleEvent,
      'object { payload: string base64 ^[0-9a-zA-Z+/]*={0,2}$; ' +
        'deviceType: string [string_format regex ^[a-zA-Z0-9:_-]{1,128}$]; ' +
        'deviceId: string [string_format regex ^[a-zA-Z0-9:_-]{1,128}$]; ' +
        'clientId: string [min_length 1, max_length 128]; ' +
        'receivedAt: number [number_format safeint, greater_than 946684800000 true, less_than 4102444800000 true] }',
    ],
  ])('%s is as the fast path expects', (_name, schema, expected) => {
    expect(describeSchema(schema)).toBe(expected);
  });
});

/** Telemetry through zod, in the fast path's output form, or undefined when zod refuses it. */
function viaZod(input: unknown): { readings: unknown[]; batch: boolean } | undefined {
  const result = telemetryMessage.safeParse(input);
  if (!result.success) return undefined;
  return { readings: [...readingsOf(result.data)], batch: 'readings' in result.data };
}

describe('fastTelemetry against the schema', () => {
  const dir = new URL('../../../fixtures/messages/', import.meta.url);
  const fixtures = readdirSync(dir).filter((name) => name.startsWith('telemetry-'));

  it.each(fixtures)('agrees on %s', (name) => {
    const input: unknown = JSON.parse(readFileSync(new URL(name, dir), 'utf8'));
    expect(fastTelemetry(input)).toEqual(viaZod(input));
  });

  const random = seededRandom('fast-path-telemetry');
  const pick = <T>(options: readonly T[]): T => options[Math.floor(random() * options.length)] as T;
  const numbers = [
    0, -0, 1, -1, 0.5, 21.37, 946_684_799_999, 946_684_800_000, 1_764_196_380_000, 1_764_196_380_000.5,
  ];
  const edgeNumbers = [
    4_102_444_800_000,
    4_102_444_800_001,
    2 ** 53,
    2 ** 53 - 1,
    1e308,
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ];
  const names = [
    'temperature',
    'rsrp',
    'a',
    'A9_z',
    'x'.repeat(64),
    'x'.repeat(65),
    '1abc',
    '_x',
    '__proto__',
    'te-mp',
    '',
  ];
  const odd = [null, true, 'text', [], [1], {}, Object.create(null) as object, new Map()];
  const leaf = (): unknown =>
    random() < 0.75 ? pick(numbers) : random() < 0.6 ? pick(edgeNumbers) : pick(odd);
  const ts = (): unknown => (random() < 0.85 ? 1_764_196_380_000 + Math.floor(random() * 1e6) : leaf());
  function values(): unknown {
    if (random() < 0.08) return pick(odd);
    const out: Record<string, unknown> = random() < 0.1 ? Object.create(null) : {};
    const count = Math.floor(random() * 4);
    for (let i = 0; i < count; i++)
      out[random() < 0.8 ? pick(names.slice(0, 4)) : pick(names)] = random() < 0.85 ? pick(numbers) : leaf();
    return out;
  }
  function readingLike(): unknown {
    if (random() < 0.05) return pick(odd);
    const out: Record<string, unknown> = {};
    if (random() < 0.95) out.ts = ts();
    if (random() < 0.4) out.seq = random() < 0.7 ? Math.floor(random() * 100) : leaf();
    if (random() < 0.95) out.values = values();
    if (random() < 0.1) out.extra = leaf();
    return out;
  }
  function message(): unknown {
    if (random() < 0.6) return readingLike();
    if (random() < 0.05) return { readings: pick(odd) };
    return { readings: Array.from({ length: Math.floor(random() * 4) }, readingLike) };
  }
  const generated = Array.from({ length: 4000 }, message);

  it('accepts exactly what zod accepts, with the same readings, for JSON input', () => {
    let accepted = 0;
    for (const input of generated) {
      const text = JSON.stringify(input) ?? 'null';
      const json: unknown = JSON.parse(text);
      const expected = viaZod(json);
      // zod drops a `__proto__` key from records without a word; the fast path leaves that to zod.
      const fast =
        text.includes('"__proto__"') && fastTelemetry(json) === undefined ? expected : fastTelemetry(json);
      expect({ json, fast }).toEqual({ json, fast: expected });
      if (expected !== undefined) accepted++;
    }
    // Both outcomes must be well represented, or the comparison proves little.
    expect(accepted).toBeGreaterThan(800);
    expect(accepted).toBeLessThan(3200);
  });

  it('never accepts what zod refuses, for any input (NaN, Infinity, Maps, null prototypes)', () => {
    for (const input of generated) {
      const fast = fastTelemetry(input);
      if (fast !== undefined) expect({ input, fast }).toEqual({ input, fast: viaZod(input) });
    }
  });

  it('refuses a batch over the schema maximum', () => {
    const one = { ts: 1_764_196_380_000, values: { t: 1 } };
    expect(fastTelemetry({ readings: Array.from({ length: 1000 }, () => one) })?.readings).toHaveLength(1000);
    expect(fastTelemetry({ readings: Array.from({ length: 1001 }, () => one) })).toBeUndefined();
  });
});

describe('fastRuleEvent against the schema', () => {
  const random = seededRandom('fast-path-envelope');
  const pick = <T>(options: readonly T[]): T => options[Math.floor(random() * options.length)] as T;
  const base64Of = (length: number) =>
    Buffer.from(Array.from({ length }, () => Math.floor(random() * 256))).toString('base64');
  function payload(): unknown {
    const canonical = base64Of(Math.floor(random() * 12));
    const r = random();
    if (r < 0.6) return canonical;
    if (r < 0.7)
      return pick([
        '',
        'QR==',
        'QUI=',
        'QUJD',
        'Q===',
        '====',
        'QQ',
        'QQ=',
        'Q Q=',
        'QUJD\n',
        'ab-_',
        'ŁŁŁŁ',
        'éQ==',
      ]);
    // A canonical string with one character replaced by something possibly outside the alphabet.
    const i = Math.floor(random() * canonical.length);
    return canonical.slice(0, i) + pick(['=', '-', '_', ' ', '!', 'Ł', 'A', '/']) + canonical.slice(i + 1);
  }
  const ids = ['dev-1', 'a:b_c', 'x'.repeat(128), 'x'.repeat(129), '', 'dev/1', 'dév', 7];
  function envelope(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      payload: payload(),
      deviceType: random() < 0.85 ? 'sensor' : pick(ids),
      deviceId: random() < 0.85 ? `dev-${Math.floor(random() * 5)}` : pick(ids),
      clientId:
        random() < 0.85 ? 'client' : pick(['', 'c'.repeat(128), 'c'.repeat(129), 'any thing/goes', 3]),
      receivedAt:
        random() < 0.85 ? 1_764_196_381_000 : pick([946_684_799_999, 4_102_444_800_001, 1.5, '1', 2 ** 53]),
    };
    if (random() < 0.05) delete out[pick(Object.keys(out))];
    if (random() < 0.05) out.extra = 'stripped';
    return out;
  }

  it('never accepts what zod refuses, and decodes the payload as the schema path does', () => {
    let accepted = 0;
    for (let i = 0; i < 4000; i++) {
      const input = envelope();
      const fast = fastRuleEvent(input);
      if (fast === undefined) continue;
      accepted++;
      const expected = deviceRuleEvent.safeParse(input);
      expect({ input, success: expected.success }).toEqual({ input, success: true });
      if (!expected.success) continue;
      const { payload: text, ...rest } = expected.data;
      expect({ ...fast, payload: Buffer.from(fast.payload) }).toEqual({
        ok: true,
        ...rest,
        payload: Buffer.from(text, 'base64'),
      });
    }
    expect(accepted).toBeGreaterThan(1000);
  });

  it.each<[string, unknown]>([
    ['non-canonical base64 (trailing bits set), which zod accepts', 'QR=='],
    ['the empty payload', ''],
  ])('leaves %s to zod', (_name, text) => {
    const input = {
      payload: text,
      deviceType: 't',
      deviceId: 'd',
      clientId: 'c',
      receivedAt: 1_764_196_381_000,
    };
    expect(deviceRuleEvent.safeParse(input).success).toBe(true);
    const fast = fastRuleEvent(input);
    expect(fast === undefined || Buffer.from(fast.payload).toString('base64') === text).toBe(true);
  });
});
