import * as z from 'zod';
import { parseWith } from './parse.ts';
import { JOB_ID_PATTERN } from './topics.ts';

/**
 * The event one rollout function sends another asynchronously (Lambda's `Event` invocation): the API
 * starts the planner for a rollout it accepted, the planner asks the scheduler to advance one rollout.
 */
export const rolloutWorkEvent = z.object({
  rolloutId: z.string().regex(JOB_ID_PATTERN, 'must be 1-64 characters of [a-zA-Z0-9_-]'),
});
export type RolloutWorkEvent = z.output<typeof rolloutWorkEvent>;

/**
 * What a rollout function was started for: one rollout (an event with a `rolloutId`, checked), or every
 * rollout it looks after (its schedule's event, or anything else without a `rolloutId`).
 */
export function parseRolloutWork(event: unknown): RolloutWorkEvent | undefined {
  if (typeof event !== 'object' || event === null || !('rolloutId' in event)) return undefined;
  return parseWith(rolloutWorkEvent, event, 'rollout work event');
}
