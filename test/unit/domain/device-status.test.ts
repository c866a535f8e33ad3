import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type StatusOrigin, statusToUpdate } from '../../../lambdas/domain/device-status.ts';
import { type StatusMessage, statusMessage } from '../../../lib/protocol/messages.ts';
import { parseJsonMessage } from '../../../lib/protocol/parse.ts';

function statusFixture(name: string): StatusMessage {
  const bytes = readFileSync(new URL(`../../fixtures/messages/${name}`, import.meta.url));
  return parseJsonMessage(statusMessage, bytes, 'status message');
}

/** The broker received the message at 2025-11-26T22:33:28.000Z. */
const origin: StatusOrigin = { deviceId: 'A', deviceType: 'tracker', receivedAt: 1764196408000 };

describe('statusToUpdate', () => {
  it.each<[string, string, StatusOrigin, Record<string, unknown>]>([
    [
      'copies every reported field, with lastSeen from the broker and the device clock skew',
      'status-good-full.json',
      { ...origin, receivedAt: 1764196405000 },
      {
        deviceId: 'A',
        deviceType: 'tracker',
        lastSeen: 1764196405000,
        firmwareVersion: '1.4.2',
        modelVersion: '0.3.0-rc.1',
        battery: { percent: 87.5, voltage: 3.91, charging: false },
        signal: { rsrp: -97, rsrq: -11.5, sinr: 7.5, bars: 3, rat: 'NB-IoT' },
        uptimeSeconds: 86400,
        clockSkewMs: 3000,
        tlsVersion: 'TLSv1.2',
        psm: { enabled: true, periodicTauSeconds: 3600, activeTimeSeconds: 60 },
        coapExposure: { interface: 'eth1', address: '10.0.0.2', allow: ['10.0.0.7', '10.0.0.8'] },
      },
    ],
    [
      'gives a negative skew for a device clock behind the broker',
      'status-good-full.json',
      { ...origin, receivedAt: 1764196410500 },
      expect.objectContaining({ lastSeen: 1764196410500, clockSkewMs: -2500 }),
    ],
    [
      'leaves out every optional field the message did not carry, clockSkewMs included; clears a CoAP exposure',
      'status-good-minimal.json',
      origin,
      {
        deviceId: 'A',
        deviceType: 'tracker',
        lastSeen: 1764196408000,
        firmwareVersion: '1.0.0',
        coapExposure: null,
      },
    ],
    [
      'uses the broker clock for lastSeen even when the device clock is at the year 2000',
      'status-good-extremes.json',
      origin,
      expect.objectContaining({ lastSeen: 1764196408000, clockSkewMs: 946684800000 - 1764196408000 }),
    ],
    [
      'keeps zero values (0 % battery, 0 s uptime) rather than dropping them as absent',
      'status-good-extremes.json',
      origin,
      expect.objectContaining({ battery: { percent: 0 }, uptimeSeconds: 0 }),
    ],
    [
      'takes identity from the rule event, not from the message',
      'status-good-unknown-fields.json',
      { deviceId: 'dev:01', deviceType: 'gw_v2', receivedAt: 1764196408000 },
      {
        deviceId: 'dev:01',
        deviceType: 'gw_v2',
        lastSeen: 1764196408000,
        firmwareVersion: '2.0.0',
        battery: { percent: 50 },
        signal: { rsrp: -100 },
        coapExposure: null,
      },
    ],
  ])('%s (%s)', (_rule, fixtureName, statusOrigin, expected) => {
    // Prepare
    const status = statusFixture(fixtureName);

    // Act
    const update = statusToUpdate(status, statusOrigin);

    // Assess
    expect(update).toStrictEqual(expected);
  });

  it('does not mutate its inputs', () => {
    // Prepare
    const status = statusFixture('status-good-full.json');
    const before = structuredClone(status);
    const frozenOrigin = Object.freeze({ ...origin });

    // Act
    const update = statusToUpdate(deepFreeze(status), frozenOrigin);

    // Assess
    expect(status).toStrictEqual(before);
    expect(frozenOrigin).toStrictEqual(origin);
    expect(update).not.toBe(status);
  });
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
