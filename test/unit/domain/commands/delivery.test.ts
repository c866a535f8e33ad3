import { describe, expect, it } from 'vitest';
import {
  type DeviceContact,
  decideDelivery,
  nextPeriodicContact,
} from '../../../../lambdas/domain/commands/delivery.ts';

const NOW = 1_764_196_408_000;
const HOUR = 3_600_000;
/** T3412 = 1 h, T3324 = 60 s, as the default device config asks for. */
const PSM = { enabled: true, periodicTauSeconds: 3_600, activeTimeSeconds: 60 };

describe('decideDelivery, one row per rule', () => {
  it.each<[string, DeviceContact, { send: boolean; expectedDeliveryAt?: number; why: RegExp }]>([
    ['never heard from', {}, { send: false, why: /never heard from/ }],
    [
      'PSM, seen 10 s ago: in its active time',
      { lastSeen: NOW - 10_000, psm: PSM },
      { send: true, why: /active time/ },
    ],
    ['PSM, seen exactly T3324 ago', { lastSeen: NOW - 60_000, psm: PSM }, { send: true, why: /active time/ }],
    [
      'PSM, seen 61 s ago: asleep until an hour after the last contact',
      { lastSeen: NOW - 61_000, psm: PSM },
      { send: false, expectedDeliveryAt: NOW - 61_000 + HOUR, why: /asleep in PSM/ },
    ],
    [
      'PSM, seen 2.5 h ago (it missed no update we know of): the third periodic update',
      { lastSeen: NOW - 2.5 * HOUR, psm: PSM },
      { send: false, expectedDeliveryAt: NOW + 0.5 * HOUR, why: /asleep in PSM/ },
    ],
    [
      'PSM with T3324 = 0: reachable only at the contact itself',
      { lastSeen: NOW - 1, psm: { ...PSM, activeTimeSeconds: 0 } },
      { send: false, expectedDeliveryAt: NOW - 1 + HOUR, why: /asleep/ },
    ],
    [
      'PSM and offline: the timers still tell when it comes',
      { lastSeen: NOW - 20 * 60_000, online: false, psm: PSM },
      { send: false, expectedDeliveryAt: NOW + 40 * 60_000, why: /asleep in PSM/ },
    ],
    [
      'PSM disabled, online',
      { lastSeen: NOW - HOUR, online: true, psm: { enabled: false } },
      { send: true, why: /not in PSM/ },
    ],
    [
      'PSM granted without T3412: no estimate, treated as awake',
      { lastSeen: NOW - HOUR, psm: { enabled: true, activeTimeSeconds: 60 } },
      { send: true, why: /not in PSM/ },
    ],
    [
      'offline, no PSM: held, no estimate',
      { lastSeen: NOW - HOUR, online: false },
      { send: false, why: /offline/ },
    ],
    ['online, no PSM reported', { lastSeen: NOW - HOUR, online: true }, { send: true, why: /online/ }],
  ])('%s', (_rule, device, expected) => {
    // Act
    const decision = decideDelivery(device, NOW);

    // Assess
    expect(decision.send).toBe(expected.send);
    expect(decision.why).toMatch(expected.why);
    expect('expectedDeliveryAt' in decision ? decision.expectedDeliveryAt : undefined).toBe(
      expected.expectedDeliveryAt,
    );
  });

  it.each<[number, number]>([
    [NOW - 1, NOW - 1 + HOUR],
    [NOW - HOUR, NOW],
    [NOW - HOUR - 1, NOW - 1 + HOUR],
    [NOW + 5_000, NOW + 5_000 + HOUR],
  ])('nextPeriodicContact after a contact at %i is %i', (lastSeen, expected) => {
    expect(nextPeriodicContact(lastSeen, HOUR, NOW)).toBe(expected);
  });
});
