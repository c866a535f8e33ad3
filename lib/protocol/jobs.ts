import * as z from 'zod';
import { version as semanticVersion } from './messages.ts';
import { JOB_ID_PATTERN } from './topics.ts';

/**
 * AWS IoT Jobs' device-side MQTT API, on fleetkit's `fleet/things/{thing}/jobs/...` prefix
 * (https://docs.aws.amazon.com/iot/latest/developerguide/jobs-mqtt-api.html): request and response
 * documents, execution states, and fleetkit's firmware and model job documents. Devices written against AWS IoT
 * Jobs keep their state machine; only the topic prefix differs.
 */

/** Job execution states, as AWS IoT Jobs has them. */
export const JOB_EXECUTION_STATUSES = [
  'QUEUED',
  'IN_PROGRESS',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'REJECTED',
  'CANCELED',
  'REMOVED',
] as const;
export const jobExecutionStatus = z.enum(JOB_EXECUTION_STATUSES);
export type JobExecutionStatus = z.output<typeof jobExecutionStatus>;

/** The states a device may set with UpdateJobExecution; the others are the service's. */
export const DEVICE_SETTABLE_STATUSES = ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED'] as const;
export const deviceSettableStatus = z.enum(DEVICE_SETTABLE_STATUSES);

/** States after which an execution never changes again. */
export const TERMINAL_STATUSES: readonly JobExecutionStatus[] = [
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'REJECTED',
  'CANCELED',
  'REMOVED',
];

/** Free-form progress a device reports: string keys and string values, as AWS IoT Jobs allows. */
export const statusDetails = z
  .record(z.string().min(1).max(128), z.string().max(1024))
  .refine((d) => Object.keys(d).length <= 10, 'must have at most 10 entries');
export type StatusDetails = z.output<typeof statusDetails>;

const clientToken = z.string().min(1).max(64).optional();
const jobId = z.string().regex(JOB_ID_PATTERN, 'must be 1-64 characters of [a-zA-Z0-9_-]');

/** `.../jobs/get` request. */
export const getPendingJobsRequest = z.object({ clientToken });

/** `.../jobs/start-next` request. */
export const startNextRequest = z.object({
  statusDetails: statusDetails.optional(),
  stepTimeoutInMinutes: z.number().int().min(1).max(10_080).optional(),
  clientToken,
});

/** `.../jobs/{jobId}/get` request; jobId may be `$next`. */
export const describeExecutionRequest = z.object({
  executionNumber: z.number().int().min(1).optional(),
  includeJobDocument: z.boolean().optional(),
  clientToken,
});

/**
 * An execution's version as a device sends it: a JSON number, or the same number as a decimal string.
 * AWS's Jobs MQTT API documents `"expectedVersion": "number"`
 * (https://docs.aws.amazon.com/iot/latest/developerguide/jobs-mqtt-api.html), and AWS's embedded Jobs
 * library (Jobs-for-AWS-IoT-embedded-sdk, `Jobs_UpdateMsg`, used by FreeRTOS devices) writes the
 * version the device was given between quotes, `"expectedVersion":"1"`; AWS's HTTPS API takes a Long.
 */
const VERSION_MESSAGE = 'must be a whole number from 1, as a JSON number or a decimal string';
const executionVersion = z.union(
  [
    z.number().int(VERSION_MESSAGE).min(1, VERSION_MESSAGE),
    z
      .string()
      .regex(/^\d{1,15}$/, VERSION_MESSAGE)
      .transform(Number)
      .pipe(z.number().min(1, VERSION_MESSAGE)),
  ],
  { error: VERSION_MESSAGE },
);

/** `.../jobs/{jobId}/update` request. */
export const updateExecutionRequest = z.object({
  status: deviceSettableStatus,
  statusDetails: statusDetails.optional(),
  expectedVersion: executionVersion.optional(),
  executionNumber: z.number().int().min(1).optional(),
  includeJobExecutionState: z.boolean().optional(),
  includeJobDocument: z.boolean().optional(),
  stepTimeoutInMinutes: z.number().int().min(1).max(10_080).optional(),
  clientToken,
});
export type UpdateExecutionRequest = z.output<typeof updateExecutionRequest>;

/** AWS IoT Jobs' rejection codes. */
export const JOB_ERROR_CODES = [
  'InvalidTopic',
  'InvalidJson',
  'InvalidRequest',
  'InvalidStateTransition',
  'ResourceNotFound',
  'VersionMismatch',
  'InternalError',
  'RequestThrottled',
  'TerminalStateReached',
] as const;
export type JobErrorCode = (typeof JOB_ERROR_CODES)[number];

/**
 * The codes whose ErrorResponse carries the execution's `executionState`: AWS includes it "only when
 * the code field has the value InvalidStateTransition or VersionMismatch"
 * (https://docs.aws.amazon.com/iot/latest/developerguide/jobs-api.html#jobs-mqtt-error-response).
 */
export const CODES_WITH_EXECUTION_STATE: readonly JobErrorCode[] = [
  'InvalidStateTransition',
  'VersionMismatch',
];

/** ECDSA over P-256 with SHA-256, the only signature fleetkit firmware carries. */
export const SIGNATURE_ALGORITHM = 'ECDSA_SHA_256';

/**
 * A signed file to fetch: where, until when, and how to check it. Firmware images and anomaly models
 * are delivered the same way, and a device verifies both the same way.
 */
const signedArtifact = z.object({
  version: z.string().min(1).max(64),
  /** A short-lived presigned HTTPS GET URL; Range requests work, so a download can resume. */
  url: z.url(),
  /** Seconds since the epoch after which `url` stops working: ask for the execution again to renew it. */
  urlExpiresAt: z.number().int(),
  size: z.number().int().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
  /** base64 DER ECDSA signature over the file's SHA-256 digest. */
  signature: z.base64(),
  signatureAlgorithm: z.literal(SIGNATURE_ALGORITHM),
  /** Which public key verifies `signature` (devices keep the keys they trust, by id). */
  keyId: z.string().min(1).max(128),
});
/** The `firmware` or `model` section of a device job document. */
export type SignedArtifact = z.output<typeof signedArtifact>;

/** fleetkit's firmware job document: what to install, where to get it, how to check it. */
export const firmwareJobDocument = z.object({
  operation: z.literal('firmware-update'),
  rolloutId: jobId,
  firmware: signedArtifact,
  /** True when the platform sends a device back to the version it had (health-gated rollback). */
  rollback: z.boolean().optional(),
});
export type FirmwareJobDocument = z.output<typeof firmwareJobDocument>;

/**
 * fleetkit's anomaly-model job document: a new model version for the edge agent, signed like
 * firmware (ECDSA P-256 over the file's SHA-256, by a key the device trusts). The version is a
 * semantic version: it is also the model's file name on the device and must match the version the
 * ONNX file declares in its metadata.
 */
export const modelJobDocument = z.object({
  operation: z.literal('model-update'),
  rolloutId: jobId,
  model: signedArtifact.extend({ version: semanticVersion }),
});
export type ModelJobDocument = z.output<typeof modelJobDocument>;

/** Every job document a device may be sent, told apart by `operation`. */
export const deviceJobDocument = z.discriminatedUnion('operation', [firmwareJobDocument, modelJobDocument]);
export type DeviceJobDocument = z.output<typeof deviceJobDocument>;

/** One execution as the Jobs API shows it (JobExecution). Times are epoch seconds, as in AWS. */
export interface JobExecutionView {
  readonly jobId: string;
  readonly thingName: string;
  readonly status: JobExecutionStatus;
  readonly statusDetails?: StatusDetails;
  readonly queuedAt: number;
  readonly startedAt?: number;
  readonly lastUpdatedAt: number;
  readonly versionNumber: number;
  readonly executionNumber: number;
  readonly jobDocument?: FirmwareJobDocument;
}
