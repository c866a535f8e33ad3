import { describe, expect, it } from 'vitest';
import type { TopicRule } from '../../../lib/topology/model.ts';
import { IOT_SQL_VERSION, renderRuleSql } from '../../../lib/topology/rule-sql.ts';
import { topology } from '../../../lib/topology.ts';

describe('renderRuleSql', () => {
  it('renders the real ingestStatus rule as the IoT SQL AWS documents', () => {
    // Prepare
    const [rule] = topology.functions.ingestStatus.rules;

    // Act
    const sql = renderRuleSql(rule);

    // Assess
    // encode(*, 'base64'), topic(n) (1-based), clientid() and timestamp() (epoch ms) are IoT SQL functions:
    // https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html
    expect(sql).toBe(
      "SELECT encode(*, 'base64') AS payload, topic(2) AS deviceType, topic(3) AS deviceId, clientid() AS clientId, timestamp() AS receivedAt FROM 'devices/+/+/status'",
    );
  });

  it.each<[string, TopicRule, string]>([
    [
      'a json rule merges added fields into the payload with SELECT *',
      { topic: 'devices/+/+/telemetry', payload: 'json', add: { deviceId: 'topic(3)' } },
      "SELECT *, topic(3) AS deviceId FROM 'devices/+/+/telemetry'",
    ],
    [
      'a json rule that adds nothing selects the payload alone',
      { topic: 'a/#', payload: 'json', add: {} },
      "SELECT * FROM 'a/#'",
    ],
    [
      'a base64 rule that adds nothing selects the encoded payload alone',
      { topic: 'a/b', payload: 'base64', add: {} },
      "SELECT encode(*, 'base64') AS payload FROM 'a/b'",
    ],
    [
      'a rule without the payload selects only the added fields (a device showed up)',
      {
        topic: 'devices/+/+/telemetry',
        payload: 'none',
        add: { deviceId: 'topic(3)', receivedAt: 'timestamp()' },
      },
      "SELECT topic(3) AS deviceId, timestamp() AS receivedAt FROM 'devices/+/+/telemetry'",
    ],
    [
      'topic() without an index selects the whole topic',
      { topic: 'a/+', payload: 'json', add: { topic: 'topic()', at: 'timestamp()' } },
      "SELECT *, topic() AS topic, timestamp() AS at FROM 'a/+'",
    ],
    [
      "a where selects by a payload field, as the presence rule selects IoT's duplicate client id events",
      {
        topic: '$aws/events/presence/disconnected/+',
        payload: 'json',
        add: {},
        where: { field: 'disconnectReason', equals: 'DUPLICATE_CLIENTID' },
      },
      "SELECT * FROM '$aws/events/presence/disconnected/+' WHERE disconnectReason = 'DUPLICATE_CLIENTID'",
    ],
  ])('%s', (_rule, rule, expected) => {
    expect(renderRuleSql(rule)).toBe(expected);
  });

  it('uses the 2016-03-23 SQL version, the one that supports encode() on the whole payload', () => {
    expect(IOT_SQL_VERSION).toBe('2016-03-23');
  });
});
