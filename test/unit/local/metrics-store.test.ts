import { describe, expect, it } from 'vitest';
import { createEmfMetrics } from '../../../lambdas/shared/metrics.ts';
import { LocalMetrics } from '../../../lib/local/metrics-store.ts';

/** Parsed EMF lines, written by the same metrics code the handlers use. */
function emfLines(
  write: (put: (service: string) => ReturnType<typeof createEmfMetrics>) => void,
): Record<string, unknown>[] {
  const lines: string[] = [];
  write((service) =>
    createEmfMetrics(service, { write: (line) => lines.push(line), now: () => 1764196408000 }),
  );
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('LocalMetrics', () => {
  const lines = emfLines((metricsFor) => {
    const ingest = metricsFor('ingest-status');
    ingest.put('StatusMessages', 1, 'Count', { Outcome: 'applied' });
    ingest.put('StatusMessages', 1, 'Count', { Outcome: 'applied' });
    ingest.put('StatusMessages', 1, 'Count', { Outcome: 'stale' });
    ingest.put('RejectedMessages', 4, 'Count', { MessageType: 'status' });
    const api = metricsFor('api-devices');
    api.put('StatusMessages', 10, 'Count', { Outcome: 'applied' });
    api.put('Latency', 12.5, 'Milliseconds');
    api.put('Latency', 7.5, 'Milliseconds');
  });

  it.each<[string, string, Record<string, string>, number]>([
    ['every series of a metric', 'StatusMessages', {}, 13],
    ['one dimension value', 'StatusMessages', { Outcome: 'applied' }, 12],
    ['another dimension value', 'StatusMessages', { Outcome: 'stale' }, 1],
    ['the service dimension', 'StatusMessages', { Service: 'ingest-status' }, 3],
    ['two dimensions together', 'StatusMessages', { Service: 'ingest-status', Outcome: 'applied' }, 2],
    ['a dimension value never seen', 'StatusMessages', { Outcome: 'lost' }, 0],
    ['a dimension the series does not have', 'Latency', { Outcome: 'applied' }, 0],
    ['a metric value that is not 1', 'RejectedMessages', { MessageType: 'status' }, 4],
    ['fractional values', 'Latency', { Service: 'api-devices' }, 20],
    ['a metric never written', 'Nothing', {}, 0],
  ])('totals %s', (_rule, name, where, expected) => {
    // Prepare
    const metrics = new LocalMetrics();
    for (const line of lines) metrics.ingest(line);

    // Act
    const total = metrics.total(name, where);

    // Assess
    expect(total).toBe(expected);
  });

  it('accepts each EMF line and counts samples per series', () => {
    // Prepare
    const metrics = new LocalMetrics();

    // Act
    const accepted = lines.map((line) => metrics.ingest(line));

    // Assess
    expect(accepted.every(Boolean)).toBe(true);
    expect(metrics.snapshot()).toContainEqual({
      name: 'StatusMessages',
      dimensions: { Service: 'ingest-status', Outcome: 'applied' },
      sum: 2,
      count: 2,
    });
    expect(metrics.snapshot()).toContainEqual({
      name: 'Latency',
      dimensions: { Service: 'api-devices' },
      sum: 20,
      count: 2,
    });
  });

  it.each<[string, Record<string, unknown>]>([
    ['a log line', { level: 'info', message: 'status applied', StatusMessages: 1 }],
    ['a line with _aws but no CloudWatchMetrics', { _aws: { Timestamp: 1 }, StatusMessages: 1 }],
    ['an empty object', {}],
  ])('refuses %s as not EMF, and counts nothing', (_rule, record) => {
    // Prepare
    const metrics = new LocalMetrics();

    // Act
    const accepted = metrics.ingest(record);

    // Assess
    expect(accepted).toBe(false);
    expect(metrics.snapshot()).toEqual([]);
  });

  it('hands out snapshots the caller cannot use to change the store', () => {
    // Prepare
    const metrics = new LocalMetrics();
    for (const line of lines) metrics.ingest(line);
    const [first] = metrics.snapshot();
    if (first === undefined) throw new Error('no series');

    // Act
    (first.dimensions as Record<string, string>).Service = 'tampered';

    // Assess
    expect(metrics.total('StatusMessages', { Service: 'tampered' })).toBe(0);
  });
});
