import * as z from 'zod';
import { deviceId } from './messages.ts';

/**
 * `GET /audit`: the audit's findings, after AWS IoT Device Defender's audit results. Each finding names
 * the device, the check, what is wrong (`resource`: a certificate id or the device), its severity, and
 * the fix.
 */

/** The query of `GET /audit`. */
export const auditQuery = z.strictObject({
  deviceId: deviceId.optional(),
  check: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]{1,63}$/, 'must be a check id (upper snake case)')
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  nextToken: z.string().min(1).max(2048).optional(),
});
export type AuditQuery = z.output<typeof auditQuery>;

/** One finding, as `GET /audit` lists it. */
export const auditFinding = z.object({
  deviceId,
  check: z.string(),
  resource: z.string(),
  severity: z.enum(['critical', 'high', 'medium', 'low']),
  message: z.string(),
  fix: z.string(),
  firstFoundAt: z.number(),
  checkedAt: z.number(),
});
export type AuditFinding = z.output<typeof auditFinding>;
