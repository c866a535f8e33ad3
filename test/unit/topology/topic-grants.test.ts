import { describe, expect, it } from 'vitest';
import { topicMatchesGrant, topicPublishGrants } from '../../../lib/topology/topic-grants.ts';
import { topology } from '../../../lib/topology.ts';

describe('topicPublishGrants: where a function may publish, from its uses', () => {
  it.each([
    ['shadowMqtt', ['fleet/things/*/shadow/*']],
    ['jobsMqtt', ['fleet/things/*/jobs/*']],
    ['apiDevices', []],
    ['ingestStatus', []],
  ])('%s → %j', (name, grants) => {
    expect(
      topicPublishGrants(topology, topology.functions[name as keyof typeof topology.functions].uses),
    ).toEqual(grants);
  });
});

describe("topicMatchesGrant: IAM's wildcards on topic names", () => {
  it.each([
    ['fleet/things/a/shadow/update/delta', 'fleet/things/*', true],
    ['fleet/things/', 'fleet/things/*', true],
    ['fleet/thingsX/a', 'fleet/things/*', false],
    ['devices/tracker/a/commands', 'fleet/things/*', false],
    ['fleet/things', 'fleet/things/*', false],
    ['fleet/things/a', 'fleet/things/?', true],
    ['fleet/things/ab', 'fleet/things/?', false],
    ['fleet.things/a', 'fleet.things/*', true],
    ['fleetXthings/a', 'fleet.things/*', false],
  ])('%s against %s → %s', (topic, pattern, expected) => {
    expect(topicMatchesGrant(topic, pattern)).toBe(expected);
  });
});
