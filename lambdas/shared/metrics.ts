import type { HandlerRuntime } from './runtime.ts';

/** CloudWatch namespace of every fleetkit metric. */
export const METRIC_NAMESPACE = 'fleetkit';

export type MetricUnit = 'Count' | 'Milliseconds' | 'Bytes' | 'Percent' | 'None';

/** Publishes metrics as log lines. */
export interface Metrics {
  /** Emits one metric value with the service dimension plus `dimensions`. */
  put(name: string, value: number, unit?: MetricUnit, dimensions?: Record<string, string>): void;
}

/**
 * Metrics in CloudWatch Embedded Metric Format: a log line that CloudWatch turns into a metric, no
 * API call on the hot path (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 * The local platform reads the same lines to keep its counters.
 */
export function createEmfMetrics(service: string, runtime: HandlerRuntime): Metrics {
  return {
    put(name, value, unit = 'Count', dimensions = {}) {
      const dims = { Service: service, ...dimensions };
      runtime.write(
        JSON.stringify({
          _aws: {
            Timestamp: runtime.now(),
            CloudWatchMetrics: [
              {
                Namespace: METRIC_NAMESPACE,
                Dimensions: [Object.keys(dims)],
                Metrics: [{ Name: name, Unit: unit }],
              },
            ],
          },
          ...dims,
          [name]: value,
        }),
      );
    },
  };
}
