import { Duration } from 'aws-cdk-lib';
import { MathExpression, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC_NAMESPACE } from '../protocol/metrics.ts';

/** Metric helpers shared by the monitoring stack's alarms and its dashboard. */

export const FIVE_MINUTES = Duration.minutes(5);
export const ONE_MINUTE = Duration.minutes(1);

/** `ingestStatus` → `IngestStatus`, for construct ids. */
export function pascalCase(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** A fleetkit metric of one emitting handler. */
export function fleetkitMetric(
  metricName: string,
  service: string,
  statistic: string,
  period: Duration = FIVE_MINUTES,
): Metric {
  return new Metric({
    namespace: METRIC_NAMESPACE,
    metricName,
    dimensionsMap: { Service: service },
    statistic,
    period,
  });
}

/** A Lambda metric of one function; labelled by function on graphs (a label would make an alarm a math alarm). */
export function lambdaMetric(
  metricName: string,
  functionName: string,
  statistic: string,
  labelled = true,
): Metric {
  return new Metric({
    namespace: 'AWS/Lambda',
    metricName,
    dimensionsMap: { FunctionName: functionName },
    statistic,
    period: FIVE_MINUTES,
    ...(labelled ? { label: functionName } : {}),
  });
}

/** A CloudWatch SEARCH expression (dashboards only: alarms cannot use SEARCH). */
export function search(
  expression: string,
  statistic: string,
  period: Duration,
  label: string,
): MathExpression {
  return new MathExpression({
    expression: `SEARCH('${expression}', '${statistic}', ${period.toSeconds()})`,
    usingMetrics: {},
    label,
    period,
  });
}

/** `(RuleName="a" OR RuleName="b")`. */
export function anyOf(dimension: string, values: readonly string[]): string {
  return `(${values.map((value) => `${dimension}="${value}"`).join(' OR ')})`;
}
