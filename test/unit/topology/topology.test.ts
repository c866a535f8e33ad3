import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commandAnswerRuleEvent, deviceSightingRuleEvent } from '../../../lib/protocol/commands.ts';
import { identityRuleEvent } from '../../../lib/protocol/identity.ts';
import { disconnectedEvent } from '../../../lib/protocol/lifecycle-events.ts';
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
type RuleEventSchema =
  | typeof deviceRuleEvent
  | typeof shadowRuleEvent
  | typeof thingRequestEvent
  | typeof identityRuleEvent
  | typeof commandAnswerRuleEvent
  | typeof deviceSightingRuleEvent
  | typeof disconnectedEvent;

const EVENTS: Record<
  string,
  {
    /** The schema, or for a handler with rules of several shapes, the one of this rule. */
    schema: RuleEventSchema | ((rule: TopicRule) => RuleEventSchema);
    expect: (topic: string) => object;
    /** A payload of the shape the rule selects (a JSON rule's fields are the payload's), if not a status. */
    sample?: Record<string, unknown>;
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
  'presence-events': {
    schema: disconnectedEvent,
    sample: {
      clientId: 'dev-4',
      timestamp: 1764196408000,
      eventType: 'disconnected',
      disconnectReason: 'DUPLICATE_CLIENTID',
    },
    expect: () => ({}),
  },
  'commands-mqtt': {
    schema: (rule) => (rule.payload === 'none' ? deviceSightingRuleEvent : commandAnswerRuleEvent),
    expect: (topic) => {
      const [, deviceType, deviceId, kind] = topic.split('/');
      return kind === 'command-answers' ? { deviceType, deviceId, kind } : { deviceId, kind };
    },
  },
};

/** The schema a rule's event is parsed with. */
function schemaOf(handler: string, rule: TopicRule): RuleEventSchema | undefined {
  const schema = EVENTS[handler]?.schema;
  return typeof schema === 'function' ? schema(rule) : schema;
}

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
      const event = EVENTS[handler];
      const schema = schemaOf(handler, rule);
      if (event === undefined || schema === undefined)
        throw new Error(`no event schema listed for handler ${handler}`);
      const payload = new TextEncoder().encode(JSON.stringify(event.sample ?? { firmwareVersion: '1.0.0' }));

      // Act
      const produced = evaluateRule(rule, {
        topic,
        payload,
        clientId: 'dev-3',
        principal: PRINCIPAL,
        receivedAt: 1764196408123,
      });
      const parsed = schema.safeParse(produced);

      // Assess
      expect(topicMatches(rule.topic, topic)).toBe(true);
      expect(parsed.error?.issues ?? []).toEqual([]);
      if (event.sample !== undefined) {
        // A JSON rule's event is the payload's fields, and what the rule adds.
        expect(parsed.data).toStrictEqual({ ...event.sample, ...event.expect(topic) });
        return;
      }
      expect(parsed.data).toStrictEqual({
        // A rule that leaves the payload out (a sign of life) carries only what it adds.
        ...(rule.payload === 'none' ? {} : { payload: 'eyJmaXJtd2FyZVZlcnNpb24iOiIxLjAuMCJ9' }),
        ...('clientId' in rule.add ? { clientId: 'dev-3' } : {}),
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
      const fields = Object.keys(schemaOf(handler, rule)?.shape ?? {}).sort();
      // `SELECT *, ...` passes the payload's own fields through: what is named must be in the schema.
      if (rule.payload === 'json') expect(fields).toEqual(expect.arrayContaining(selected));
      else expect(selected.sort()).toEqual(fields);
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
