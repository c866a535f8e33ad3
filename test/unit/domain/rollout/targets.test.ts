import { describe, expect, it } from 'vitest';
import { cohortOf } from '../../../../lambdas/domain/rollout/cohort.ts';
import {
  type FirmwareImage,
  matchesAttribute,
  mergeSelections,
  type RolloutDevice,
  type SkipReason,
  selectTargets,
} from '../../../../lambdas/domain/rollout/targets.ts';
import type { AttributeFilter, RolloutTargets } from '../../../../lib/protocol/rollouts.ts';
import { fixture } from './support.ts';

const fleet = fixture('fleet-small.json') as RolloutDevice[];
const device = (name: string) => fleet.find((d) => d.thingName === name) as RolloutDevice;
const anyVersion: FirmwareImage = { version: '9.9.9' };
const chosen = (targets: RolloutTargets, firmware: FirmwareImage = anyVersion) =>
  selectTargets(fleet, targets, firmware).eligible.map((e) => e.device.thingName);

describe('selectors', () => {
  it.each<[string, RolloutTargets, string[]]>([
    ['device types', { deviceTypes: ['env-sensor'] }, ['env-001', 'env-002']],
    ['groups: member of any', { groups: ['us-east', 'beta'] }, ['trk-004', 'trk-006', 'env-002']],
    ['a thing list', { things: ['trk-001', 'env-002', 'not-in-fleet'] }, ['trk-001', 'env-002']],
    [
      'selectors combine with AND',
      { deviceTypes: ['tracker'], groups: ['eu-west'], things: ['trk-001', 'trk-003', 'env-001'] },
      ['trk-001', 'trk-003'],
    ],
    [
      'attribute filters all hold',
      {
        attributes: [
          { attribute: 'deviceType', op: 'eq', value: 'tracker' },
          { attribute: 'hwRevision', op: 'in', value: ['C', 'D'] },
        ],
      },
      ['trk-001', 'trk-002', 'trk-003', 'trk-006', 'trk-008'],
    ],
    [
      'firmwareVersion lt compares by semantic version (1.10 > 1.9, rc < release)',
      { attributes: [{ attribute: 'firmwareVersion', op: 'lt', value: '1.5.0' }] },
      ['trk-001', 'trk-002', 'trk-005', 'trk-006', 'env-001', 'env-002', 'trk-008'],
    ],
  ])('%s', (_name, targets, expected) => {
    expect(chosen(targets)).toEqual(expected);
  });
});

describe('matchesAttribute', () => {
  it.each<[string, AttributeFilter, string, boolean]>([
    [
      'numeric strings compare as numbers',
      { attribute: 'batteryMah', op: 'gt', value: 2000 },
      'trk-001',
      true,
    ],
    [
      'numeric strings compare as numbers (not as text: "1800" > "2000" is false)',
      { attribute: 'batteryMah', op: 'gt', value: 2000 },
      'trk-008',
      false,
    ],
    [
      'eq across number and numeric string',
      { attribute: 'batteryMah', op: 'eq', value: 3000 },
      'trk-002',
      true,
    ],
    ['ne on a present attribute', { attribute: 'hwRevision', op: 'ne', value: 'C' }, 'trk-002', true],
    [
      'ne on a missing attribute does not match (unknown is not different)',
      { attribute: 'hwRevision', op: 'ne', value: 'C' },
      'trk-007',
      false,
    ],
    ['eq on a missing attribute', { attribute: 'hwRevision', op: 'eq', value: 'C' }, 'trk-007', false],
    [
      'lt between text and a number is unordered',
      { attribute: 'hwRevision', op: 'lt', value: 5 },
      'trk-001',
      false,
    ],
    ['gt on versions', { attribute: 'firmwareVersion', op: 'gt', value: '1.5.0' }, 'trk-004', true],
    [
      'an unparsable version is unordered',
      { attribute: 'firmwareVersion', op: 'lt', value: '9.0.0' },
      'trk-007',
      false,
    ],
    ['in with numbers', { attribute: 'batteryMah', op: 'in', value: [1800, 2400] }, 'trk-001', true],
    ['thingName is an attribute', { attribute: 'thingName', op: 'eq', value: 'env-001' }, 'env-001', true],
  ])('%s', (_name, filter, name, expected) => {
    expect(matchesAttribute(device(name), filter)).toBe(expected);
  });
});

describe('eligibility', () => {
  const skips = (firmware: FirmwareImage, targets: RolloutTargets = { percentage: 100 }) =>
    selectTargets(fleet, targets, firmware).skipped;

  it.each<[string, FirmwareImage, string[], Partial<Record<SkipReason, number>>]>([
    [
      'devices on the version are skipped; newer ones would be downgraded; unreadable versions skipped',
      { version: '1.5.0' },
      ['trk-001', 'trk-002', 'trk-005', 'trk-006', 'env-001', 'env-002', 'trk-008'],
      { alreadyOnVersion: 1, downgrade: 1, unknownVersion: 1 },
    ],
    [
      'the image’s device type',
      { version: '1.5.0', deviceTypes: ['tracker'] },
      ['trk-001', 'trk-002', 'trk-005', 'trk-006', 'trk-008'],
      { incompatibleType: 2, alreadyOnVersion: 1, downgrade: 1, unknownVersion: 1 },
    ],
    [
      'minVersion: older devices cannot upgrade straight to the image',
      { version: '1.5.0', deviceTypes: ['tracker'], minVersion: '1.3.0' },
      ['trk-001', 'trk-002', 'trk-006', 'trk-008'],
      { belowMinVersion: 1 },
    ],
    [
      'allowDowngrade sends the image to newer devices too',
      { version: '1.5.0', deviceTypes: ['tracker'], allowDowngrade: true },
      ['trk-001', 'trk-002', 'trk-004', 'trk-005', 'trk-006', 'trk-008'],
      { downgrade: 0, alreadyOnVersion: 1 },
    ],
    [
      'a pre-release of the image is older than the image',
      { version: '1.5.0-rc.3', deviceTypes: ['tracker'] },
      ['trk-001', 'trk-002', 'trk-005', 'trk-006', 'trk-008'],
      { downgrade: 2 },
    ],
  ])('%s', (_name, firmware, expected, skipped) => {
    expect(chosen({ percentage: 100 }, firmware)).toEqual(expected);
    expect(skips(firmware)).toMatchObject(skipped);
  });

  it('counts every targeted device once: eligible plus skipped', () => {
    const selection = selectTargets(
      fleet,
      { groups: ['eu-west'] },
      { version: '1.5.0', deviceTypes: ['tracker'] },
    );
    const skipped = Object.values(selection.skipped).reduce((a, b) => a + b, 0);
    expect(selection.targeted).toBe(6);
    expect(selection.eligible.length + skipped).toBe(selection.targeted);
  });

  it('selecting page by page and merging equals selecting everything at once', () => {
    const firmware = { version: '1.5.0', deviceTypes: ['tracker'] };
    const whole = selectTargets(fleet, { percentage: 60 }, firmware);
    const paged = mergeSelections(
      selectTargets(fleet.slice(0, 4), { percentage: 60 }, firmware),
      selectTargets(fleet.slice(4), { percentage: 60 }, firmware),
    );
    expect(paged).toEqual(whole);
  });

  it('refuses an image version that is not a semantic version (the schema lets none through)', () => {
    expect(() => selectTargets(fleet, { percentage: 100 }, { version: 'latest' })).toThrow(TypeError);
  });
});

describe('percentage', () => {
  const big: RolloutDevice[] = Array.from({ length: 20_000 }, (_, i) => ({
    thingName: `sim-${String(i).padStart(5, '0')}`,
    deviceType: 'tracker',
    firmwareVersion: '1.0.0',
  }));
  const sample = (percentage: number, devices = big, salt?: string) =>
    new Set(
      selectTargets(
        devices,
        { percentage, ...(salt === undefined ? {} : { cohortSalt: salt }) },
        { version: '2.0.0' },
      ).eligible.map((e) => e.device.thingName),
    );

  it('keeps about p % of the devices', () => {
    expect(sample(10).size).toBeGreaterThan(1800);
    expect(sample(10).size).toBeLessThan(2200);
  });

  it('is the same sample on every run, and in any input order', () => {
    expect([...sample(10, [...big].reverse())].sort()).toEqual([...sample(10)].sort());
  });

  it('grows monotonically: 5 % is a subset of 10 %, so a device never leaves a later wave', () => {
    const five = sample(5);
    const ten = sample(10);
    expect([...five].every((name) => ten.has(name))).toBe(true);
  });

  it('does not shift when other devices join or leave the fleet', () => {
    const before = sample(10);
    const after = sample(10, big.slice(5000));
    expect([...after].every((name) => before.has(name))).toBe(true);
    expect([...before].filter((name) => Number(name.slice(4)) >= 5000)).toEqual([...after]);
  });

  it('keeps devices whose cohort is below p / 100, and counts the rest as outside', () => {
    const selection = selectTargets(big, { percentage: 10 }, { version: '2.0.0' });
    expect(selection.eligible.every((e) => e.cohort < 0.1 && e.cohort === cohortOf(e.device.thingName))).toBe(
      true,
    );
    expect(selection.skipped.outsidePercentage).toBe(big.length - selection.eligible.length);
  });

  it('draws another sample with another salt', () => {
    const other = sample(10, big, 'canaries-2026');
    const usual = sample(10);
    const overlap = [...other].filter((name) => usual.has(name)).length;
    // Independent 10 % samples overlap by about 10 %.
    expect(overlap / other.size).toBeLessThan(0.2);
  });
});
