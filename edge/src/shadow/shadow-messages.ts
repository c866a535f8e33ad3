import * as z from 'zod';

/**
 * What the shadow service sends a device, parsed leniently (unknown keys kept out, sections as plain
 * objects) per AWS IoT's document shapes (https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-document.html).
 */

const section = z.record(z.string(), z.unknown());
const version = z.number().int().min(0);

/** `/get/rejected`, `/update/rejected`: `{code, message, clientToken?}`. */
export const shadowErrorResponse = z.object({
  code: z.number().int(),
  message: z.string(),
  clientToken: z.string().optional(),
});
export type ShadowErrorResponse = z.output<typeof shadowErrorResponse>;

/** `/get/accepted`: the whole document. */
export const shadowGetAccepted = z.object({
  state: z
    .object({ desired: section.optional(), reported: section.optional(), delta: section.optional() })
    .optional(),
  version,
  clientToken: z.string().optional(),
});
export type ShadowGetAccepted = z.output<typeof shadowGetAccepted>;

/** `/update/accepted`: the request echoed with the new version. */
export const shadowUpdateAccepted = z.object({ version, clientToken: z.string().optional() });
export type ShadowUpdateAccepted = z.output<typeof shadowUpdateAccepted>;

/** `/update/delta`: desired keys that differ from reported, at `version`. */
export const shadowDelta = z.object({ state: section, version });
export type ShadowDelta = z.output<typeof shadowDelta>;

const snapshot = z.object({
  state: z.object({ desired: section.optional(), reported: section.optional() }).nullable().optional(),
  version,
});

/** `/update/documents`: the document before and after an accepted update. */
export const shadowDocuments = z.object({ previous: snapshot.nullable(), current: snapshot });
export type ShadowDocuments = z.output<typeof shadowDocuments>;
