import { METRIC_NAMESPACE } from '../../lib/protocol/metrics.ts';
import type { HandlerRuntime } from './runtime.ts';

export { METRIC_NAMESPACE } from '../../lib/protocol/metrics.ts';

export type MetricUnit = 'Count' | 'Milliseconds' | 'Bytes' | 'Percent' | 'None';

/** Publishes metrics as log lines. */
export interface Metrics {
  /** Emits one metric value for the service, and for the service plus `dimensions` when there are any. */
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
                // With extra dimensions, the Service-only series is emitted too, so alarms on a service's
                // total (all alert types, say) need no metric math.
                Dimensions:
                  Object.keys(dimensions).length === 0 ? [['Service']] : [['Service'], Object.keys(dims)],
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
