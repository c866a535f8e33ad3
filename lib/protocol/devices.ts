import * as z from 'zod';
import { attributeName, thingGroupName } from './rollouts.ts';

/** Most attributes a device carries, as AWS IoT allows per thing. */
export const MAX_DEVICE_ATTRIBUTES = 50;

/**
 * `PATCH /devices/{id}`: what provisioning knows of a device that it does not report itself — its thing
 * groups (replaced as a whole) and attributes (merged; `null` removes one), as AWS IoT's UpdateThing
 * does. Rollouts target by both.
 */
export const updateDeviceRequest = z
  .strictObject({
    groups: z
      .array(thingGroupName)
      .max(10, 'must hold at most 10 groups')
      .refine((groups) => new Set(groups).size === groups.length, 'must not repeat a group')
      .optional(),
    attributes: z
      .record(attributeName, z.string().max(800, 'must be at most 800 characters').nullable())
      .refine(
        (attributes) => Object.keys(attributes).length <= MAX_DEVICE_ATTRIBUTES,
        `must hold at most ${MAX_DEVICE_ATTRIBUTES} attributes`,
      )
      .optional(),
  })
  .refine((request) => request.groups !== undefined || request.attributes !== undefined, {
    message: 'must set groups or attributes',
  });
export type UpdateDeviceRequest = z.output<typeof updateDeviceRequest>;
