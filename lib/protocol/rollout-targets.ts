import * as z from 'zod';
import { deviceId, deviceType } from './messages.ts';
import { countDefined } from './rollout-checks.ts';

/*
 * Which devices a rollout is for: the `targets` of a `POST /rollouts` request (see rollouts.ts).
 */

/** Thing group names, as AWS IoT allows them. */
export const thingGroupName = z
  .string()
  .regex(/^[a-zA-Z0-9:_-]{1,128}$/, 'must be 1-128 characters of [a-zA-Z0-9:_-]');
/** Registry attribute names, as AWS IoT allows thing attribute names. */
export const attributeName = z
  .string()
  .regex(/^[a-zA-Z0-9_.,@/:#-]{1,128}$/, 'must be 1-128 characters of [a-zA-Z0-9_.,@/:#-]');
const attributeScalar = z.union([z.string().max(800, 'must be at most 800 characters'), z.number()]);

/** One condition on a registry attribute (`firmwareVersion`, `deviceType`, or a thing attribute). */
export const attributeFilter = z
  .strictObject({
    attribute: attributeName,
    op: z.enum(['eq', 'ne', 'lt', 'gt', 'in']),
    value: z.union([attributeScalar, z.array(attributeScalar).min(1).max(100)]),
  })
  .superRefine((filter, ctx) => {
    const isList = Array.isArray(filter.value);
    if (filter.op === 'in' && !isList)
      ctx.addIssue({ code: 'custom', path: ['value'], message: "must be a list for op 'in'" });
    if (filter.op !== 'in' && isList)
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `must be a single value for op '${filter.op}'`,
      });
  });
export type AttributeFilter = z.output<typeof attributeFilter>;

const SELECTORS = ['deviceTypes', 'groups', 'attributes', 'things', 'percentage'] as const;

/**
 * Which devices a rollout is for. Every selector given must hold (they combine with AND); `percentage`
 * then keeps a stable sample of what the others selected (see `cohortOf` in the rollout domain).
 */
export const rolloutTargets = z
  .strictObject({
    /** Any of these device types. */
    deviceTypes: z.array(deviceType).min(1).max(50).optional(),
    /** Member of any of these thing groups. */
    groups: z.array(thingGroupName).min(1).max(50).optional(),
    /** Every filter holds. */
    attributes: z.array(attributeFilter).min(1).max(20).optional(),
    /** One of these things. */
    things: z.array(deviceId).min(1).max(10_000).optional(),
    /** Percent of the selected devices, 0 < p ≤ 100, chosen by a hash of the thing name. */
    percentage: z.number().gt(0, 'must be > 0').max(100, 'must be <= 100').optional(),
    /**
     * Salt of the cohort hash. Left out, the fleet-wide default applies, so the same devices lead every
     * rollout; set it to draw a different sample.
     */
    cohortSalt: z.string().min(1).max(64).optional(),
  })
  .superRefine((targets, ctx) => {
    if (countDefined(targets, SELECTORS) === 0)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `must name at least one of ${SELECTORS.join(', ')}`,
      });
  });
export type RolloutTargets = z.output<typeof rolloutTargets>;
