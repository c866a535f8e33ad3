/** One metric series: a name and its dimensions. */
export interface MetricSeries {
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly sum: number;
  readonly count: number;
}

interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: Array<{ Name: string }>;
}

/**
 * The local stand-in for CloudWatch metrics: it reads the Embedded Metric Format lines handlers
 * write — the same lines CloudWatch Logs turns into metrics in AWS — and keeps sums per series.
 */
export class LocalMetrics {
  private readonly series = new Map<
    string,
    { name: string; dimensions: Record<string, string>; sum: number; count: number }
  >();

  /** Records an EMF line; returns false for a line that is not EMF. */
  ingest(record: Record<string, unknown>): boolean {
    const aws = record._aws as { CloudWatchMetrics?: EmfDirective[] } | undefined;
    if (aws?.CloudWatchMetrics === undefined) return false;
    for (const directive of aws.CloudWatchMetrics) {
      // The most specific dimension set: a total over a coarser one is `total` with fewer filters.
      const dimensionNames = directive.Dimensions.reduce<string[]>(
        (a, b) => (b.length > a.length ? b : a),
        [],
      );
      const dimensions = Object.fromEntries(dimensionNames.map((d) => [d, String(record[d])]));
      for (const metric of directive.Metrics) {
        const value = Number(record[metric.Name]);
        if (!Number.isFinite(value)) continue;
        const key = `${metric.Name}|${JSON.stringify(dimensions)}`;
        const entry = this.series.get(key) ?? { name: metric.Name, dimensions, sum: 0, count: 0 };
        entry.sum += value;
        entry.count += 1;
        this.series.set(key, entry);
      }
    }
    return true;
  }

  /** Sum of a metric over every series whose dimensions include `where`. */
  total(name: string, where: Readonly<Record<string, string>> = {}): number {
    let sum = 0;
    for (const entry of this.series.values()) {
      if (entry.name !== name) continue;
      if (Object.entries(where).every(([k, v]) => entry.dimensions[k] === v)) sum += entry.sum;
    }
    return sum;
  }

  /** Every series, for the dashboard and `GET /local/metrics`. */
  snapshot(): MetricSeries[] {
    return [...this.series.values()].map((s) => ({ ...s, dimensions: { ...s.dimensions } }));
  }
}
