import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import { describeError } from '../../lambdas/shared/logger.ts';
import type { LocalFunction } from './functions.ts';
import { LOCAL_REGION } from './names.ts';
import type { PlatformLog } from './platform-log.ts';

/** The event EventBridge sends a scheduled target (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html). */
export function scheduledEvent(ruleName: string, now: number): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [`arn:aws:events:${LOCAL_REGION}:000000000000:rule/${ruleName}`],
    detail: {},
  };
}

/** Timers for the topology's schedules. */
export interface LocalScheduler {
  /** Fires every schedule of a function now (for tests and the CLI), as EventBridge would. */
  fire(functionName: string): Promise<void>;
  stop(): void;
}

/** Starts one timer per schedule; a run that throws is logged and the next one still happens. */
export function startScheduler(
  functions: ReadonlyMap<string, LocalFunction>,
  log: PlatformLog,
): LocalScheduler {
  const timers: NodeJS.Timeout[] = [];
  const run = async (fn: LocalFunction, index: number) => {
    try {
      await fn.invoke(scheduledEvent(`${fn.name}-${index}`, Date.now()));
    } catch (error) {
      log.event('error', 'scheduled invocation failed', { function: fn.name, ...describeError(error) });
    }
  };
  for (const fn of functions.values()) {
    (fn.spec.schedules ?? []).forEach((schedule, index) => {
      timers.push(setInterval(() => void run(fn, index), schedule.everyMinutes * 60_000));
    });
  }
  return {
    fire: async (functionName) => {
      const fn = functions.get(functionName);
      if (fn === undefined) throw new Error(`no function '${functionName}'`);
      await Promise.all((fn.spec.schedules ?? []).map((_, index) => run(fn, index)));
    },
    stop: () => {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
