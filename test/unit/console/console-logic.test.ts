import { describe, expect, it } from 'vitest';
import { EMPTY_FORM, newestVersion, rolloutRequestOf } from '../../../console/src/pages/rollout-form.ts';
import { desiredPatch } from '../../../console/src/pages/shadow-patch.ts';
import { parseRoute } from '../../../console/src/router.ts';
import { parseRolloutRequest } from '../../../lib/protocol/rollouts.ts';

describe('the desired-state editor patch (shadow merge rules)', () => {
  it.each([
    ['a changed value is sent', { a: 1 }, { a: 2 }, { a: 2 }],
    ['a removed key is sent as null, which deletes it', { a: 1, b: 2 }, { a: 1 }, { b: null }],
    ['nested objects are patched key by key', { c: { x: 1, y: 2 } }, { c: { x: 1, y: 3 } }, { c: { y: 3 } }],
    ['a nested removal is a nested null', { c: { x: 1, y: 2 } }, { c: { x: 1 } }, { c: { y: null } }],
    ['arrays replace whole', { l: [1, 2] }, { l: [1] }, { l: [1] }],
    ['nothing changed, nothing sent', { c: { x: 1 } }, { c: { x: 1 } }, {}],
    ['an object replacing a value is sent whole', { a: 1 }, { a: { b: 2 } }, { a: { b: 2 } }],
  ])('%s', (_, before, after, patch) => {
    expect(desiredPatch(before, after)).toEqual(patch);
  });
});

describe('the new-rollout form', () => {
  it('makes a request the API accepts from the defaults', () => {
    const request = rolloutRequestOf({ ...EMPTY_FORM, firmwareVersion: '1.1.0' });
    expect(parseRolloutRequest(request)).toMatchObject({
      firmwareVersion: '1.1.0',
      targets: { percentage: 100 },
      waves: { sizes: [10, 50, 100], gate: { successPercentage: 90 } },
    });
  });

  it('leaves out empty fields and carries the health gate and pacing', () => {
    const request = rolloutRequestOf({
      ...EMPTY_FORM,
      firmwareVersion: '1.1.0',
      deviceTypes: ['tracker'],
      groups: 'pilot, depot-4',
      percentage: '',
      minBatteryPercent: '20',
      gate: true,
    });
    expect(request).not.toHaveProperty('rolloutId');
    expect(parseRolloutRequest(request)).toMatchObject({
      targets: { deviceTypes: ['tracker'], groups: ['pilot', 'depot-4'] },
      pacing: { minBatteryPercent: 20 },
      healthGate: {
        metric: 'anomalyRate',
        maxWorsening: { relative: 0.2 },
        windowMinutes: 30,
        controlPercentage: 10,
      },
    });
  });

  it('starts with the newest available image, in SemVer order, not the first listed', () => {
    expect(newestVersion(['1.1.0', '1.10.0', '1.2.0', '1.10.0-rc.1'])).toBe('1.10.0');
    expect(newestVersion([])).toBeUndefined();
  });
});

describe('console routes', () => {
  it.each([
    ['', 'fleet', undefined],
    ['#/', 'fleet', undefined],
    ['#/devices?type=tracker', 'devices', undefined],
    ['#/devices/sim%2D0001', 'device', 'sim-0001'],
    ['#/rollouts/new', 'rollout-new', undefined],
    ['#/rollouts/first', 'rollout', 'first'],
    ['#/firmware', 'firmware', undefined],
    ['#/faults', 'faults', undefined],
    ['#/nowhere', 'fleet', undefined],
  ])('%s is the %s page', (hash, page, id) => {
    const route = parseRoute(hash);
    expect(route.page).toBe(page);
    expect(route.id).toBe(id);
  });

  it('keeps the query of a page (filters in the address)', () => {
    expect(parseRoute('#/devices?type=tracker&online=offline').query.get('online')).toBe('offline');
  });
});
