import { describe, expect, it } from 'vitest';
import type { FunctionSpec, Topology } from '../../../lib/topology/model.ts';
import { TopologyError, validateTopology } from '../../../lib/topology/validate.ts';

/** A small topology that is valid; each row below breaks it in one way. */
function goodTopology(): { resources: Topology['resources']; functions: Record<string, FunctionSpec> } {
  return {
    resources: {
      registry: { kind: 'table', description: 'r', partitionKey: { name: 'deviceId', type: 'S' } },
      firmware: { kind: 'bucket', description: 'f', versioned: true },
      streamT: { kind: 'stream', description: 't', topic: 't', partitions: 1 },
      streamU: { kind: 'stream', description: 'u', topic: 'u', partitions: 1000 },
    },
    functions: {
      ingest: {
        handler: 'ingest-status',
        description: 'i',
        rules: [
          {
            topic: 'devices/+/+/status',
            payload: 'base64',
            add: { deviceType: 'topic(2)', deviceId: 'topic(3)', last: 'topic(4)', at: 'timestamp()' },
          },
        ],
        uses: { registry: 'write' },
      },
      api: {
        handler: 'api-devices',
        description: 'a',
        routes: ['GET /devices', 'GET /devices/{id}', 'POST /devices/{id}/commands'],
        uses: { registry: 'read', firmware: 'read' },
      },
      sweeper: {
        handler: 'sweeper',
        description: 's',
        schedules: [{ everyMinutes: 1 }],
        kafka: [
          { topic: 't', batchSize: 10_000, maxBatchingWindowSeconds: 1, startingPosition: 'LATEST' },
          { topic: 'u', batchSize: 1, maxBatchingWindowSeconds: 0, startingPosition: 'TRIM_HORIZON' },
        ],
        uses: { streamT: 'read', streamU: 'readWrite' },
        rules: [
          { topic: 'a/#', payload: 'json', add: { payload: 'topic(1)' } },
          { topic: '#', payload: 'json', add: {} },
        ],
      },
    },
  };
}

type Topo = ReturnType<typeof goodTopology>;

describe('validateTopology', () => {
  it('accepts a valid topology, including the edge values of each rule', () => {
    expect(() => validateTopology(goodTopology())).not.toThrow();
  });

  it('accepts a greedy {proxy+} route, as API Gateway HTTP APIs and the local gateway do', () => {
    // Prepare
    const topology = goodTopology();
    topology.functions.files = { handler: 'files', description: 'f', routes: ['GET /files/{proxy+}'] };

    // Act
    const act = () => validateTopology(topology);

    // Assess
    expect(act).not.toThrow();
  });

  it("accepts a json rule on IoT's lifecycle events that selects by a payload field", () => {
    // Prepare
    const topology = goodTopology();
    setRule(topology, {
      topic: '$aws/events/presence/disconnected/+',
      payload: 'json',
      add: {},
      where: { field: 'disconnectReason', equals: 'DUPLICATE_CLIENTID' },
    });

    // Act / Assess
    expect(() => validateTopology(topology)).not.toThrow();
  });

  it.each<[string, (t: Topo) => void, string, RegExp]>([
    [
      'a route served twice',
      (t) => {
        t.functions.second = { handler: 'second', description: 's', routes: ['GET /devices/{id}'] };
      },
      'second',
      /GET \/devices\/\{id\}.*already served by 'api'/,
    ],
    [
      'a handler used twice',
      (t) => {
        t.functions.again = { handler: 'ingest-status', description: 'x' };
      },
      'again',
      /handler 'ingest-status' is also used by 'ingest'/,
    ],
    ['a handler not in kebab-case', (t) => patch(t, 'api', { handler: 'apiDevices' }), 'api', /apiDevices/],
    [
      'a handler with an underscore',
      (t) => patch(t, 'api', { handler: 'api_devices' }),
      'api',
      /api_devices/,
    ],
    ['a handler starting with a digit', (t) => patch(t, 'api', { handler: '1api' }), 'api', /1api/],
    ['a one-letter handler', (t) => patch(t, 'api', { handler: 'a' }), 'api', /'a'/],
    ['a handler with a path', (t) => patch(t, 'api', { handler: '../x' }), 'api', /\.\.\/x/],
    ['a route path with a space', (t) => patch(t, 'api', { routes: ['GET /a b'] }), 'api', /GET \/a b/],
    ['a route path with a query', (t) => patch(t, 'api', { routes: ['GET /a?b=1'] }), 'api', /invalid path/],
    ['# not the last level', (t) => setRule(t, { topic: 'a/#/b' }), 'ingest', /a\/#\/b/],
    ['# inside a level', (t) => setRule(t, { topic: 'a/b#' }), 'ingest', /a\/b#/],
    ['+ inside a level', (t) => setRule(t, { topic: 'a+/b' }), 'ingest', /a\+\/b/],
    ['+ at the end of a level', (t) => setRule(t, { topic: 'devices/x+/status' }), 'ingest', /x\+/],
    ['a $aws filter', (t) => setRule(t, { topic: '$aws/things/+/shadow/update' }), 'ingest', /reserved/],
    ['a $-prefixed filter', (t) => setRule(t, { topic: '$SYS/#' }), 'ingest', /reserved/],
    [
      'a where on a base64 rule',
      (t) => setRule(t, { payload: 'base64', where: { field: 'a', equals: 'b' } }),
      'ingest',
      /where needs a json payload/,
    ],
    [
      'a where field that is not a plain name',
      (t) => setRule(t, { payload: 'json', add: {}, where: { field: 'a.b OR 1', equals: 'b' } }),
      'ingest',
      /a\.b OR 1/,
    ],
    [
      'a where value with a quote (SQL injection into the rule)',
      (t) => setRule(t, { payload: 'json', add: {}, where: { field: 'a', equals: "x' OR '1'='1" } }),
      'ingest',
      /without quotes/,
    ],
    [
      'topic(9) beyond the filter levels',
      (t) => setRule(t, { topic: 'devices/+/+/status', add: { x: 'topic(9)' } }),
      'ingest',
      /x = topic\(9\).*4 levels/,
    ],
    [
      'topic(0)',
      (t) => setRule(t, { topic: 'devices/+/+/status', add: { x: 'topic(0)' } }),
      'ingest',
      /topic\(0\)/,
    ],
    [
      'a field named payload on a base64 rule',
      (t) => setRule(t, { payload: 'base64', add: { payload: 'topic(1)' } }),
      'ingest',
      /'payload'/,
    ],
    [
      'a rule without the payload that adds nothing (nothing to SELECT)',
      (t) => setRule(t, { payload: 'none', add: {} }),
      'ingest',
      /must add a field/,
    ],
    [
      'a schedule of 0 minutes',
      (t) => patch(t, 'sweeper', { schedules: [{ everyMinutes: 0 }] }),
      'sweeper',
      /everyMinutes.*got 0/,
    ],
    [
      'a schedule of a fraction of a minute',
      (t) => patch(t, 'sweeper', { schedules: [{ everyMinutes: 1.5 }] }),
      'sweeper',
      /got 1\.5/,
    ],
    ['a kafka batch of 0', (t) => setKafkaBatch(t, 0), 'sweeper', /batchSize.*got 0/],
    ['a kafka batch over 10000', (t) => setKafkaBatch(t, 10_001), 'sweeper', /batchSize.*got 10001/],
    [
      'an unknown resource',
      (t) => patch(t, 'api', { uses: { registry: 'read', firmwares: 'read' } }),
      'api',
      /unknown resource 'firmwares'/,
    ],
    [
      'an unknown resource named like an Object.prototype member',
      (t) => patch(t, 'api', { uses: Object.fromEntries([['constructor', 'read']]) }),
      'api',
      /unknown resource 'constructor'/,
    ],
  ])('rejects %s with a TopologyError naming the function', (_rule, breakIt, functionName, detail) => {
    // Prepare
    const topology = goodTopology();
    breakIt(topology);

    // Act
    const act = () => validateTopology(topology);

    // Assess
    expect(act).toThrow(TopologyError);
    expect(act).toThrow(`function '${functionName}'`);
    expect(act).toThrow(detail);
  });

  it('rejects a resource that takes the name of the IoT rule error bucket', () => {
    // Prepare
    const topology = goodTopology();
    (topology.resources as Record<string, unknown>).ruleErrors = {
      kind: 'bucket',
      description: 'x',
      versioned: false,
    };

    // Act
    const act = () => validateTopology(topology);

    // Assess
    expect(act).toThrow(TopologyError);
    expect(act).toThrow(/'ruleErrors' is reserved/);
  });
});

function fn(t: Topo, name: string): FunctionSpec {
  const spec = t.functions[name];
  if (spec === undefined) throw new Error(`fixture has no function ${name}`);
  return spec;
}

function patch(t: Topo, name: string, changes: Partial<FunctionSpec>): void {
  t.functions[name] = { ...fn(t, name), ...changes };
}

function setRule(t: Topo, changes: Partial<NonNullable<FunctionSpec['rules']>[number]>): void {
  const [rule] = fn(t, 'ingest').rules ?? [];
  if (rule === undefined) throw new Error('fixture has no rule');
  patch(t, 'ingest', { rules: [{ ...rule, ...changes }] });
}

function setKafkaBatch(t: Topo, batchSize: number): void {
  const [trigger] = fn(t, 'sweeper').kafka ?? [];
  if (trigger === undefined) throw new Error('fixture has no kafka trigger');
  patch(t, 'sweeper', { kafka: [{ ...trigger, batchSize }] });
}
