import { describe, expect, it } from 'vitest';
import type { TopicRule } from '../../../lib/topology/model.ts';
import {
  evaluateRule,
  RuleEvaluationError,
  type RuleInput,
  ruleSelects,
  topicMatches,
} from '../../../lib/topology/rule-event.ts';

describe('ruleSelects (the rule SQL WHERE)', () => {
  const rule: TopicRule = {
    topic: '$aws/events/presence/disconnected/+',
    payload: 'json',
    add: {},
    where: { field: 'disconnectReason', equals: 'DUPLICATE_CLIENTID' },
  };

  it.each<[string, Record<string, unknown>, boolean]>([
    ['the value', { disconnectReason: 'DUPLICATE_CLIENTID' }, true],
    ['another value', { disconnectReason: 'CLIENT_INITIATED_DISCONNECT' }, false],
    ['no such field', {}, false],
    ['the value, not as a string', { disconnectReason: ['DUPLICATE_CLIENTID'] }, false],
  ])('%s → %s', (_case, event, selected) => {
    expect(ruleSelects(rule, event)).toBe(selected);
  });

  it('selects everything without a where', () => {
    expect(ruleSelects({ ...rule, where: undefined }, {})).toBe(true);
  });
});

describe('topicMatches (MQTT 3.1.1 §4.7)', () => {
  it.each<[string, string, boolean]>([
    ['a/b/c', 'a/b/c', true],
    ['a/b/c', 'a/b/d', false],
    ['a/b/c', 'a/b', false],
    ['a/b', 'a/b/c', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/b/x/c', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a', false],
    ['a/+', 'a/', true],
    ['+/+', '/b', true],
    ['+', 'a', true],
    ['+', 'a/b', false],
    ['devices/+/+/status', 'devices/tracker/A/status', true],
    ['devices/+/+/status', 'devices/tracker/A/telemetry', false],
    ['devices/+/+/status', 'devices/tracker/A/status/x', false],
    ['a/#', 'a/b/c', true],
    ['a/#', 'a/b', true],
    // §4.7.1.2: "sport/#" also matches the parent level "sport".
    ['a/#', 'a', true],
    ['a/#', 'b/a', false],
    ['a/#', 'ab', false],
    ['#', 'a/b/c', true],
    ['a/+/#', 'a/b', true],
    ['a/+/#', 'a', false],
    ['A/b', 'a/b', false],
    // §4.7.2: a filter starting with a wildcard must not match a topic name starting with $.
    ['#', '$SYS/broker/uptime', false],
    ['+/things/A/shadow/update', '$aws/things/A/shadow/update', false],
    ['$aws/things/+/shadow/update', '$aws/things/A/shadow/update', true],
  ])('filter %s against topic %s → %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe('evaluateRule', () => {
  const input: RuleInput = {
    topic: 'devices/tracker/A/status',
    payload: Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x31, 0x7d]), // {"a":1}
    clientId: 'A',
    receivedAt: 1764196408123,
  };

  it.each<[string, TopicRule, RuleInput, Record<string, unknown>]>([
    [
      'a base64 rule hands over the payload bytes as base64, whatever they are',
      { topic: 'devices/+/+/status', payload: 'base64', add: {} },
      { ...input, payload: Uint8Array.from([0x00, 0xff, 0xfe]) },
      { payload: 'AP/+' },
    ],
    [
      'a base64 rule of an empty payload gives an empty string',
      { topic: 'devices/+/+/status', payload: 'base64', add: {} },
      { ...input, payload: new Uint8Array() },
      { payload: '' },
    ],
    [
      'topic(n) is 1-based',
      {
        topic: 'devices/+/+/status',
        payload: 'base64',
        add: { first: 'topic(1)', type: 'topic(2)', id: 'topic(3)' },
      },
      input,
      { payload: 'eyJhIjoxfQ==', first: 'devices', type: 'tracker', id: 'A' },
    ],
    [
      'topic() is the whole topic',
      { topic: 'devices/+/+/status', payload: 'base64', add: { t: 'topic()' } },
      input,
      { payload: 'eyJhIjoxfQ==', t: 'devices/tracker/A/status' },
    ],
    [
      'clientid() and timestamp() come from the connection and the broker clock (ms)',
      { topic: 'devices/+/+/status', payload: 'base64', add: { c: 'clientid()', at: 'timestamp()' } },
      input,
      { payload: 'eyJhIjoxfQ==', c: 'A', at: 1764196408123 },
    ],
    [
      'principal() is the certificate id the message came in on',
      { topic: 'devices/+/+/status', payload: 'base64', add: { p: 'principal()' } },
      { ...input, principal: 'c'.repeat(64) },
      { payload: 'eyJhIjoxfQ==', p: 'c'.repeat(64) },
    ],
    [
      'principal() of a message the platform published is left out',
      { topic: 'devices/+/+/status', payload: 'base64', add: { p: 'principal()' } },
      { ...input, principal: '' },
      { payload: 'eyJhIjoxfQ==' },
    ],
    [
      'topic(n) past the last level is left out, as IoT SQL leaves out Undefined',
      { topic: 'devices/#', payload: 'base64', add: { nine: 'topic(9)' } },
      input,
      { payload: 'eyJhIjoxfQ==' },
    ],
    [
      'a json rule merges the added fields into the payload object',
      { topic: 'devices/+/+/status', payload: 'json', add: { deviceId: 'topic(3)', at: 'timestamp()' } },
      { ...input, payload: new TextEncoder().encode('{"battery":{"percent":5},"fw":"1.0.0"}') },
      { battery: { percent: 5 }, fw: '1.0.0', deviceId: 'A', at: 1764196408123 },
    ],
    [
      'a rule without the payload gives only the added fields, whatever the payload (CBOR, not JSON)',
      { topic: 'devices/+/+/telemetry', payload: 'none', add: { deviceId: 'topic(3)' } },
      { ...input, topic: 'devices/tracker/A/telemetry', payload: new Uint8Array([0xa1, 0x01, 0x02]) },
      { deviceId: 'A' },
    ],
  ])('%s', (_rule, rule, ruleInput, expected) => {
    expect(evaluateRule(rule, ruleInput)).toStrictEqual(expected);
  });

  it.each<[string, string]>([
    ['not JSON', 'hello'],
    ['truncated JSON', '{"a":'],
    ['a JSON array', '[1,2]'],
    ['JSON null', 'null'],
    ['a JSON string', '"text"'],
    ['a JSON number', '42'],
    ['empty', ''],
  ])('a json rule refuses a payload that is %s with a RuleEvaluationError', (_rule, payload) => {
    // Prepare
    const rule: TopicRule = { topic: 'devices/+/+/status', payload: 'json', add: { id: 'topic(3)' } };

    // Act
    const act = () => evaluateRule(rule, { ...input, payload: new TextEncoder().encode(payload) });

    // Assess
    expect(act).toThrow(RuleEvaluationError);
    expect(act).toThrow(/devices\/tracker\/A\/status/);
  });

  it('a base64 rule accepts a payload a json rule refuses', () => {
    // Prepare
    const rule: TopicRule = { topic: 'devices/+/+/status', payload: 'base64', add: {} };

    // Act
    const event = evaluateRule(rule, { ...input, payload: new TextEncoder().encode('[1,2]') });

    // Assess
    expect(event).toStrictEqual({ payload: 'WzEsMl0=' });
  });
});
