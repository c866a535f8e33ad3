import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { identityRuleEvent } from '../../../lib/protocol/identity.ts';
import { deviceRuleEvent, shadowRuleEvent, thingRequestEvent } from '../../../lib/protocol/rule-events.ts';
import { functionEnv } from '../../../lib/topology/env.ts';
import type { FunctionSpec, TopicRule, Topology } from '../../../lib/topology/model.ts';
import { evaluateRule, topicMatches } from '../../../lib/topology/rule-event.ts';
import { renderRuleSql } from '../../../lib/topology/rule-sql.ts';
import { validateTopology } from '../../../lib/topology/validate.ts';
import { topology } from '../../../lib/topology.ts';

const functions = Object.entries(topology.functions as Topology['functions']);
const rules = functions.flatMap(([name, fn]) =>
  (fn.rules ?? []).map((rule, i) => [`${name} rule ${i}`, rule, fn.handler] as const),
);

/**
 * The event schema each rule-triggered handler parses, with what it must hold for a sample message.
 * A new rule-triggered handler fails the tests below until it is added here.
 */
const EVENTS: Record<
  string,
  {
    schema:
      | typeof deviceRuleEvent
      | typeof shadowRuleEvent
      | typeof thingRequestEvent
      | typeof identityRuleEvent;
    expect: (topic: string) => object;
  }
> = {
  'ingest-status': {
    schema: deviceRuleEvent,
    expect: (topic) => ({ deviceType: topic.split('/')[1], deviceId: topic.split('/')[2] }),
  },
  'shadow-mqtt': {
    schema: shadowRuleEvent,
    expect: (topic) => ({ topic, requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) }),
  },
  'jobs-mqtt': {
    schema: thingRequestEvent,
    expect: (topic) => ({ topic, requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) }),
  },
  'identity-mqtt': {
    schema: identityRuleEvent,
    expect: (topic) => ({ topic, principal: PRINCIPAL, requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) }),
  },
};

/** The certificate id the sample messages come in on. */
const PRINCIPAL = 'c'.repeat(64);

/** A concrete topic a device could publish that the filter matches: `+` → a sample id, `#` → two levels. */
function sampleTopic(filter: string): string {
  return filter
    .split('/')
    .map((level, i) => (level === '+' ? `dev-${i}` : level === '#' ? 'x/y' : level))
    .join('/');
}

describe('the real topology', () => {
  it('is valid', () => {
    expect(() => validateTopology(topology)).not.toThrow();
  });

  it('has at least one rule, so the rule checks below test something', () => {
    expect(rules.length).toBeGreaterThan(0);
  });

  it.each(rules)(
    '%s produces, locally, an event the handler schema accepts',
    (_name, rule: TopicRule, handler) => {
      // Prepare
      const topic = sampleTopic(rule.topic);
      const payload = new TextEncoder().encode('{"firmwareVersion":"1.0.0"}');
      const event = EVENTS[handler];
      if (event === undefined) throw new Error(`no event schema listed for handler ${handler}`);

      // Act
      const produced = evaluateRule(rule, {
        topic,
        payload,
        clientId: 'dev-3',
        principal: PRINCIPAL,
        receivedAt: 1764196408123,
      });
      const parsed = event.schema.safeParse(produced);

      // Assess
      expect(topicMatches(rule.topic, topic)).toBe(true);
      expect(parsed.error?.issues ?? []).toEqual([]);
      expect(parsed.data).toStrictEqual({
        payload: 'eyJmaXJtd2FyZVZlcnNpb24iOiIxLjAuMCJ9',
        clientId: 'dev-3',
        receivedAt: 1764196408123,
        ...event.expect(topic),
      });
    },
  );

  it.each(rules)(
    '%s selects in SQL exactly the fields the handler schema has',
    (_name, rule: TopicRule, handler) => {
      // Act
      const sql = renderRuleSql(rule);
      const selected = [...sql.matchAll(/ AS (\w+)/g)].map((m) => m[1]);

      // Assess
      expect(selected.sort()).toEqual(Object.keys(EVENTS[handler]?.schema.shape ?? {}).sort());
    },
  );

  it.each(functions)('%s has its handler folder with index.ts and app.ts', (_name, fn: FunctionSpec) => {
    // Prepare
    const folder = new URL(`../../../lambdas/handlers/${fn.handler}/`, import.meta.url);

    // Act
    const files = ['index.ts', 'app.ts'].filter((file) => existsSync(new URL(file, folder)));

    // Assess
    expect(files).toEqual(['index.ts', 'app.ts']);
  });

  it.each<[string, Record<string, string>]>([
    [
      'ingestStatus',
      {
        REGISTRY_TABLE_NAME: 'registry-phys',
        FLEET_HEALTH_TABLE_NAME: 'fleetHealth-phys',
        ALERTS_TABLE_NAME: 'alerts-phys',
      },
    ],
    ['apiDevices', { REGISTRY_TABLE_NAME: 'registry-phys' }],
  ])('%s gets only the env of the resources it uses', (name, expected) => {
    // Prepare
    const fn = (topology.functions as Topology['functions'])[name];
    if (fn === undefined) throw new Error(`no function ${name}`);

    // Act
    const env = functionEnv(topology as Topology, fn, (resourceName) => `${resourceName}-phys`);

    // Assess
    expect(env).toStrictEqual(expected);
  });

  it('serves GET /devices, GET and PATCH /devices/{id} from apiDevices', () => {
    expect(topology.functions.apiDevices.routes).toEqual([
      'GET /devices',
      'GET /devices/{id}',
      'PATCH /devices/{id}',
    ]);
  });
});
