import * as z from 'zod';
import { jobExecutionStatus, statusDetails } from '../../../lib/protocol/jobs.ts';

/**
 * Schemas of what the Jobs service sends a device (AWS IoT Jobs' MQTT API responses,
 * https://docs.aws.amazon.com/iot/latest/developerguide/jobs-mqtt-api.html). They are the device's
 * reading of the wire: lenient on fields the agent does not use, strict on those it does. The job
 * document stays `unknown` here so that a bad one can be answered with REJECTED instead of being
 * dropped with the whole message.
 */

/** JobExecution, as in start-next/accepted, {jobId}/get/accepted and notify-next. */
export const jobExecutionMessage = z.object({
  jobId: z.string().min(1),
  status: jobExecutionStatus,
  statusDetails: statusDetails.optional(),
  versionNumber: z.number().int().min(0),
  executionNumber: z.number().int().min(1).optional(),
  jobDocument: z.unknown().optional(),
});
export type JobExecutionMessage = z.output<typeof jobExecutionMessage>;

/** JobExecutionState, as in {jobId}/update/accepted and in error responses. */
export const jobExecutionStateMessage = z.object({
  status: jobExecutionStatus,
  statusDetails: statusDetails.optional(),
  versionNumber: z.number().int().min(0).optional(),
});

/** `.../start-next/accepted` and `.../{jobId}/get/accepted`: `execution` is absent when nothing is pending. */
export const executionResponse = z.object({
  clientToken: z.string().optional(),
  execution: jobExecutionMessage.optional(),
});

/** `.../{jobId}/update/accepted`. */
export const updateAcceptedResponse = z.object({
  clientToken: z.string().optional(),
  executionState: jobExecutionStateMessage.optional(),
});

/** Any `.../rejected` (ErrorResponse). */
export const errorResponse = z.object({
  clientToken: z.string().optional(),
  code: z.string().min(1),
  message: z.string().optional(),
  executionState: jobExecutionStateMessage.optional(),
});

/** `.../notify-next`: `execution` absent means nothing is pending any more. */
export const notifyNextMessage = z.object({
  execution: jobExecutionMessage.optional(),
});
