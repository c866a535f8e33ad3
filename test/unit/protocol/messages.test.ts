import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commandAnswer, commandRequest } from '../../../lib/protocol/commands.ts';
import { SchemaValidationError } from '../../../lib/protocol/errors.ts';
import {
  MAX_READINGS_PER_MESSAGE,
  type Reading,
  readingsOf,
  statusMessage,
  telemetryMessage,
} from '../../../lib/protocol/messages.ts';
import { parseJsonMessage } from '../../../lib/protocol/parse.ts';

const schemas = {
  status: statusMessage,
  telemetry: telemetryMessage,
  command: commandRequest,
  answer: commandAnswer,
} as const;
type Kind = keyof typeof schemas;

/** The bytes of a named message fixture, as they would arrive off the wire. */
function fixture(name: string): Buffer {
  return readFileSync(new URL(`../../fixtures/messages/${name}`, import.meta.url));
}

function parseFixture(kind: Kind, name: string): unknown {
  return parseJsonMessage(schemas[kind], fixture(name), `${kind} message`);
}

function validationErrorOf(act: () => unknown): SchemaValidationError {
  try {
    act();
  } catch (error) {
    if (error instanceof SchemaValidationError) return error;
    throw error;
  }
  throw new Error('expected a SchemaValidationError, nothing was thrown');
}

describe('good messages', () => {
  it.each<[string, Kind, unknown]>([
    [
      'status-good-full.json',
      'status',
      {
        ts: 1764196408000,
        firmwareVersion: '1.4.2',
        modelVersion: '0.3.0-rc.1',
        battery: { percent: 87.5, voltage: 3.91, charging: false },
        signal: { rsrp: -97, rsrq: -11.5, sinr: 7.5, bars: 3, rat: 'NB-IoT' },
        uptimeSeconds: 86400,
        tlsVersion: 'TLSv1.2',
        psm: { enabled: true, periodicTauSeconds: 3600, activeTimeSeconds: 60 },
        coapExposure: { interface: 'eth1', address: '10.0.0.2', allow: ['10.0.0.7', '10.0.0.8'] },
      },
    ],
    ['status-good-minimal.json', 'status', { firmwareVersion: '1.0.0' }],
    [
      'status-good-extremes.json',
      'status',
      {
        ts: 946684800000,
        firmwareVersion: '10.20.30+build.7',
        battery: { percent: 0 },
        signal: { rsrp: -156, rsrq: 2.5, sinr: 40, bars: 5, rat: 'LTE-M' },
        uptimeSeconds: 0,
      },
    ],
    // Unknown keys are stripped, at every depth: an older cloud must accept a newer firmware's fields.
    [
      'status-good-unknown-fields.json',
      'status',
      { firmwareVersion: '2.0.0', battery: { percent: 50 }, signal: { rsrp: -100 } },
    ],
    [
      'telemetry-good-single.json',
      'telemetry',
      { ts: 1764196408000, seq: 41, values: { temperature: 21.37, humidity: 48.2, rsrp: -97 } },
    ],
    [
      'telemetry-good-batch.json',
      'telemetry',
      {
        readings: [
          { ts: 1764196408000, seq: 41, values: { temperature: 21.37 } },
          { ts: 1764196468000, seq: 42, values: { temperature: 21.41, humidity: 48.1 } },
        ],
      },
    ],
    [
      'telemetry-good-unknown-fields.json',
      'telemetry',
      { ts: 1764196408000, values: { temperature: 21.37 } },
    ],
    [
      'command-good.json',
      'command',
      {
        executionId: 'cmd_0001-a',
        name: 'set-interval',
        parameters: { seconds: 5, for: 600 },
        issuedAt: 1764196408000,
        expiresAt: 1764200008000,
      },
    ],
    [
      'command-good-minimal.json',
      'command',
      {
        executionId: 'c1',
        name: 'reboot',
        parameters: {},
        issuedAt: 1764196408000,
        expiresAt: 1764200008000,
      },
    ],
    [
      'command-good-unknown-fields.json',
      'command',
      {
        executionId: 'c2',
        name: 'reboot',
        parameters: {},
        issuedAt: 1764196408000,
        expiresAt: 1764200008000,
      },
    ],
    [
      'answer-good.json',
      'answer',
      {
        executionId: 'cmd_0001-a',
        status: 'SUCCEEDED',
        result: { modem: { registration: 'registered-home', rsrpDbm: -97 }, uptimeSeconds: 42 },
        answeredAt: 1764196409000,
      },
    ],
    [
      'answer-good-rejected-unknown-fields.json',
      'answer',
      { executionId: 'c1', status: 'REJECTED', reason: 'unknown command: self-destruct' },
    ],
  ])('%s parses as a %s message', (name, kind, expected) => {
    // Act
    const parsed = parseFixture(kind, name);

    // Assess
    expect(parsed).toStrictEqual(expected);
  });

  it(`accepts a batch of exactly ${MAX_READINGS_PER_MESSAGE} readings`, () => {
    // Prepare
    const readings = Array.from({ length: 1000 }, (_, i) => ({ ts: 1764196408000 + i, values: { t: i } }));

    // Act
    const parsed = parseJsonMessage(telemetryMessage, JSON.stringify({ readings }), 'telemetry message');

    // Assess
    expect(readingsOf(parsed)).toHaveLength(1000);
  });
});

describe('readingsOf', () => {
  it.each<[string, Reading[]]>([
    [
      'telemetry-good-single.json',
      [{ ts: 1764196408000, seq: 41, values: { temperature: 21.37, humidity: 48.2, rsrp: -97 } }],
    ],
    [
      'telemetry-good-batch.json',
      [
        { ts: 1764196408000, seq: 41, values: { temperature: 21.37 } },
        { ts: 1764196468000, seq: 42, values: { temperature: 21.41, humidity: 48.1 } },
      ],
    ],
  ])('gives the readings of %s in order', (name, expected) => {
    // Prepare
    const message = parseJsonMessage(telemetryMessage, fixture(name), 'telemetry message');

    // Act
    const readings = readingsOf(message);

    // Assess
    expect(readings).toStrictEqual(expected);
  });
});

describe('bad messages', () => {
  it.each<[string, Kind, Array<[string, RegExp]>]>([
    ['status-bad-battery-over-100.json', 'status', [['battery.percent', /<= 100/]]],
    ['status-bad-battery-percent-string.json', 'status', [['battery.percent', /expected number/]]],
    ['status-bad-firmware-missing.json', 'status', [['firmwareVersion', /expected string/]]],
    ['status-bad-firmware-not-semver.json', 'status', [['firmwareVersion', /semantic version/]]],
    ['status-bad-ts-seconds.json', 'status', [['ts', /seconds sent instead of ms/]]],
    ['status-bad-ts-fractional.json', 'status', [['ts', /integer/]]],
    ['status-bad-rsrp-out-of-range.json', 'status', [['signal.rsrp', /<= -31 dBm/]]],
    ['status-bad-rat-unknown.json', 'status', [['signal.rat', /NB-IoT/]]],
    ['status-bad-uptime-negative.json', 'status', [['uptimeSeconds', />=\s?0/]]],
    ['status-bad-tls-version.json', 'status', [['tlsVersion', /TLSv1\.3/]]],
    [
      'status-bad-several.json',
      'status',
      [
        ['ts', /seconds sent instead of ms/],
        ['firmwareVersion', /semantic version/],
        ['battery.percent', />= 0/],
      ],
    ],
    ['status-bad-array.json', 'status', [['(root)', /expected object/]]],
    ['telemetry-bad-ts-seconds.json', 'telemetry', [['ts', /seconds sent instead of ms/]]],
    ['telemetry-bad-ts-missing.json', 'telemetry', [['ts', /expected number/]]],
    ['telemetry-bad-value-string.json', 'telemetry', [['values.temperature', /expected number/]]],
    ['telemetry-bad-value-null.json', 'telemetry', [['values.temperature', /expected number/]]],
    ['telemetry-bad-value-object.json', 'telemetry', [['values.temperature', /expected number/]]],
    ['telemetry-bad-metric-name.json', 'telemetry', [['values.bad-name', /must match|key/i]]],
    ['telemetry-bad-values-empty.json', 'telemetry', [['values', /at least one metric/]]],
    ['telemetry-bad-seq-negative.json', 'telemetry', [['seq', />=\s?0/]]],
    ['telemetry-bad-batch-empty.json', 'telemetry', [['readings', />=\s?1/]]],
    ['telemetry-bad-batch-ts-seconds.json', 'telemetry', [['readings.1.ts', /seconds sent instead of ms/]]],
    [
      'telemetry-bad-batch-value-string.json',
      'telemetry',
      [['readings.1.values.temperature', /expected number/]],
    ],
    ['command-bad-name-not-kebab.json', 'command', [['name', /kebab-case/]]],
    ['command-bad-execution-id-slash.json', 'command', [['executionId', /\[a-zA-Z0-9_-\]/]]],
    ['command-bad-issued-at-seconds.json', 'command', [['issuedAt', /seconds sent instead of ms/]]],
    ['command-bad-expires-at-after-2100.json', 'command', [['expiresAt', /before 2100/]]],
    ['command-bad-expires-at-missing.json', 'command', [['expiresAt', /expected number/]]],
    ['command-bad-expires-at-not-after-issued.json', 'command', [['expiresAt', /after issuedAt/]]],
    ['command-bad-parameters-array.json', 'command', [['parameters', /expected record/]]],
    ['answer-bad-status-service-only.json', 'answer', [['status', /IN_PROGRESS/]]],
    ['answer-bad-reason-number.json', 'answer', [['reason', /expected string/]]],
    ['answer-bad-result-over-4kb.json', 'answer', [['result', /at most 4096 bytes/]]],
    ['answer-bad-result-not-object.json', 'answer', [['result', /expected record/]]],
  ])('%s is refused as a %s message, naming each bad field and why', (name, kind, expected) => {
    // Act
    const error = validationErrorOf(() => parseFixture(kind, name));

    // Assess
    expect(error.subject).toBe(`${kind} message`);
    expect(error.issues.map((issue) => issue.field)).toEqual(expected.map(([field]) => field));
    expected.forEach(([field, reason], i) => {
      expect(error.issues[i]?.reason, field).toMatch(reason);
      expect(error.message).toContain(`${field}: `);
    });
  });

  it(`refuses a batch of ${MAX_READINGS_PER_MESSAGE + 1} readings at readings`, () => {
    // Prepare
    const readings = Array.from({ length: 1001 }, (_, i) => ({ ts: 1764196408000 + i, values: { t: i } }));

    // Act
    const error = validationErrorOf(() =>
      parseJsonMessage(telemetryMessage, JSON.stringify({ readings }), 'telemetry message'),
    );

    // Assess
    expect(error.issues.map((issue) => issue.field)).toEqual(['readings']);
  });
});
