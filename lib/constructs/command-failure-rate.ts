import { MathExpression } from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS } from '../protocol/metrics.ts';
import { FIVE_MINUTES, fleetkitMetric } from './monitoring-metrics.ts';

/**
 * The share of command executions that ended FAILED, REJECTED or TIMED_OUT in 5 minutes, in percent,
 * over every service that ends executions (answers: commands-mqtt; timeouts: commands-scheduler). Below
 * `minimumEnded` executions it is 0: two failures of three commands are not a fleet problem.
 */
export function commandFailureRate(services: readonly string[], minimumEnded: number): MathExpression {
  const usingMetrics = Object.fromEntries(
    services.flatMap((service, i) => [
      [`ended${i}`, fleetkitMetric(METRICS.commandsEnded, service, 'Sum')],
      [`failed${i}`, fleetkitMetric(METRICS.commandsFailed, service, 'Sum')],
    ]),
  );
  const sum = (prefix: string) => services.map((_, i) => `FILL(${prefix}${i}, 0)`).join(' + ');
  return new MathExpression({
    expression: `IF((${sum('ended')}) >= ${minimumEnded}, 100 * (${sum('failed')}) / (${sum('ended')}), 0)`,
    usingMetrics,
    label: 'Command failure rate (%)',
    period: FIVE_MINUTES,
  });
}
