import { describe, expect, it } from 'vitest';
import { createEmfMetrics, METRIC_NAMESPACE } from '../../../lambdas/shared/metrics.ts';
import type { HandlerRuntime } from '../../../lambdas/shared/runtime.ts';

function capture(now = 1764196408123): { runtime: HandlerRuntime; lines: string[] } {
  const lines: string[] = [];
  return { runtime: { write: (line) => lines.push(line), now: () => now }, lines };
}

describe('createEmfMetrics', () => {
  it.each<[string, () => [string, number, ...unknown[]], Record<string, unknown>]>([
    [
      'a count with the service dimension only',
      () => ['StatusMessages', 1],
      {
        _aws: {
          Timestamp: 1764196408123,
          CloudWatchMetrics: [
            {
              Namespace: 'fleetkit',
              Dimensions: [['Service']],
              Metrics: [{ Name: 'StatusMessages', Unit: 'Count' }],
            },
          ],
        },
        Service: 'ingest-status',
        StatusMessages: 1,
      },
    ],
    [
      'a unit and extra dimensions, each value a top-level member',
      () => ['Latency', 12.5, 'Milliseconds', { Outcome: 'applied', MessageType: 'status' }],
      {
        _aws: {
          Timestamp: 1764196408123,
          CloudWatchMetrics: [
            {
              Namespace: 'fleetkit',
              // The Service-only set too, so a service's total needs no metric math.
              Dimensions: [['Service'], ['Service', 'Outcome', 'MessageType']],
              Metrics: [{ Name: 'Latency', Unit: 'Milliseconds' }],
            },
          ],
        },
        Service: 'ingest-status',
        Outcome: 'applied',
        MessageType: 'status',
        Latency: 12.5,
      },
    ],
  ])('writes one EMF line for %s', (_rule, args, expected) => {
    // Prepare
    const { runtime, lines } = capture();
    const metrics = createEmfMetrics('ingest-status', runtime);
    const [name, value, unit, dimensions] = args();

    // Act
    metrics.put(name, value, unit as never, dimensions as never);

    // Assess
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(JSON.parse(lines[0] ?? '')).toStrictEqual(expected);
  });

  it('names a dimension for every key of its dimension set, and a member for every metric, as EMF requires', () => {
    // Prepare
    const { runtime, lines } = capture();
    createEmfMetrics('api-devices', runtime).put('Requests', 3, 'Count', { Route: 'GET /devices' });

    // Act
    const record = JSON.parse(lines[0] ?? '') as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: Array<{ Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
    };
    const [directive] = record._aws.CloudWatchMetrics;

    // Assess
    expect(directive?.Dimensions.flat().map((d) => typeof record[d])).toEqual(['string', 'string', 'string']);
    expect(directive?.Metrics.map((m) => record[m.Name])).toEqual([3]);
  });

  it('puts every metric in the fleetkit namespace', () => {
    expect(METRIC_NAMESPACE).toBe('fleetkit');
  });
});
