import { describe, expect, it } from 'vitest';
import { jobsTopic, shadowTopic } from '../../../lib/protocol/topics.ts';
import type { Topology } from '../../../lib/topology/model.ts';
import { topicMatchesGrant, topicPublishGrants } from '../../../lib/topology/topic-grants.ts';
import { topicIamPattern } from '../../../lib/topology/topic-scope.ts';
import { TopologyError, validateTopology } from '../../../lib/topology/validate.ts';
import { topology } from '../../../lib/topology.ts';

const fleet: Topology = topology;
const fn = (name: string) => {
  const spec = fleet.functions[name];
  if (spec === undefined) throw new Error(`no function ${name}`);
  return spec;
};

const SHADOW_ANSWER = shadowTopic({ thingName: 't-1', operation: 'update', suffix: 'accepted' });
const NAMED_SHADOW_DELTA = shadowTopic({
  thingName: 't-1',
  shadowName: 'cfg',
  operation: 'update',
  suffix: 'delta',
});
const JOBS_NOTIFY = jobsTopic({ thingName: 't-1', operation: 'notify-next' });
const JOB_UPDATE_ANSWER = jobsTopic({
  thingName: 't-1',
  jobId: 'r-1',
  operation: 'update',
  suffix: 'accepted',
});

describe('topicIamPattern', () => {
  it.each([
    ['one-level wildcards become *', 'fleet/things/+/shadow/#', 'fleet/things/*/shadow/*'],
    ['a literal filter stays as it is', 'fleet/status', 'fleet/status'],
    ['several + levels', 'devices/+/+/commands', 'devices/*/*/commands'],
  ])('%s', (_, filter, pattern) => {
    expect(topicIamPattern(filter)).toBe(pattern);
  });
});

describe('who may publish where (the topology the IAM grants are rendered from)', () => {
  it.each([
    ['shadowMqtt', SHADOW_ANSWER, true],
    ['shadowMqtt', NAMED_SHADOW_DELTA, true],
    ['shadowMqtt', JOBS_NOTIFY, false],
    ['apiShadows', SHADOW_ANSWER, true],
    ['apiShadows', JOB_UPDATE_ANSWER, false],
    ['jobsMqtt', JOB_UPDATE_ANSWER, true],
    ['jobsMqtt', SHADOW_ANSWER, false],
    ['rolloutScheduler', JOBS_NOTIFY, true],
    ['rolloutScheduler', NAMED_SHADOW_DELTA, false],
    ['apiRollouts', JOBS_NOTIFY, false],
    ['ingestStatus', SHADOW_ANSWER, false],
    ['jobsMqtt', 'devices/tracker/t-1/commands', false],
    ['commandsMqtt', 'devices/tracker/t-1/commands', true],
    ['commandsMqtt', 'devices/tracker/t-1/telemetry', false],
    ['commandsMqtt', 'devices/tracker/t-1/command-answers', false],
    ['commandsScheduler', 'devices/tracker/t-1/commands', true],
    ['apiCommands', 'devices/tracker/t-1/commands', true],
    ['apiCommands', SHADOW_ANSWER, false],
    ['shadowMqtt', 'devices/tracker/t-1/commands', false],
  ])('%s → %s: %s', (name, topic, allowed) => {
    // The grants the IAM policy names, matched as IAM matches them (and as the local IoT data endpoint does).
    const grants = topicPublishGrants(fleet, fn(name).uses);
    expect(grants.some((grant) => topicMatchesGrant(topic, grant))).toBe(allowed);
  });

  it('gives every publishing function exactly one scope, never the whole thing namespace', () => {
    // Act
    const scopes = Object.values(fleet.functions).flatMap((spec) => topicPublishGrants(fleet, spec.uses));
    // Assess
    expect(new Set(scopes)).toEqual(
      new Set([
        'fleet/things/*/shadow/*',
        'fleet/things/*/jobs/*',
        'fleet/things/*/identity/*',
        // Command requests only: not telemetry, status or answers, which are the devices' own.
        'devices/*/*/commands',
      ]),
    );
  });
});

describe('topics resource filters', () => {
  function withTopics(filter: string): Topology {
    return {
      resources: { out: { kind: 'topics', description: 'o', filter } },
      functions: { f: { handler: 'f-handler', description: 'f', uses: { out: 'write' } } },
    };
  }

  it('accepts a filter with a literal first level and wildcards after it', () => {
    expect(() => validateTopology(withTopics('fleet/things/+/jobs/#'))).not.toThrow();
  });

  it.each([
    ['everything', '#', /must start with a literal level/],
    ['a wildcard first level', '+/shadow/#', /must start with a literal level/],
    ['# before the last level', 'fleet/#/shadow', /'#' must be a whole, last level/],
    ['an IAM wildcard inside a level', 'fleet/thi*/shadow', /may hold only/],
    ['a trailing slash', 'fleet/things/', /may hold only/],
  ])('refuses %s (%s), naming the resource', (_, filter, message) => {
    expect(() => validateTopology(withTopics(filter))).toThrow(TopologyError);
    expect(() => validateTopology(withTopics(filter))).toThrow(message);
    expect(() => validateTopology(withTopics(filter))).toThrow(/resource 'out'/);
  });
});
