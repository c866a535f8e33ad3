import * as z from 'zod';
import { keySetManifest, rollbackAuthorization, signedStatement, updateManifest } from './manifest.ts';
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

/** Where a file is fetched from: a short-lived presigned HTTPS GET; Range requests work, so a download resumes. */
const location = {
  url: z.url(),
  /** Seconds since the epoch after which `url` stops working: ask for the execution again to renew it. */
  urlExpiresAt: z.number().int(),
};

/**
 * A signed file to fetch: the signed manifest (readable and in its envelope), where to get the bytes,
 * and for firmware an optional delta. Firmware images and anomaly models are delivered and checked the
 * same way; the manifest's `purpose` says which it is.
 */
export const signedArtifact = signedStatement(updateManifest).extend(location);
/** The `firmware` or `model` section of a device job document. */
export type SignedArtifact = z.output<typeof signedArtifact>;

/** The key set devices trust, signed by a key they trust for `keyset`: a device adopts a newer one first. */
export const signedKeySet = signedStatement(keySetManifest);
export type SignedKeySet = z.output<typeof signedKeySet>;

/** What every job document may carry besides its artifact. */
const jobDocumentCommon = {
  rolloutId: jobId,
  /**
   * Present on a rollback job: the service's permission for this device to go below its anti-rollback
   * floor, for this rollout and job (see `manifest.ts`).
   */
  rollback: rollbackAuthorization.optional(),
  /** The service's current key set. */
  keys: signedKeySet.optional(),
};

/**
 * A delta to the image from one version a device may run (issue 12, step 5): VCDIFF (RFC 3284), made by
 * xdelta3 with no secondary compression and no application extensions. Not signed, and need not be:
 * the device applies it to the image it runs (which must have `fromSha256`) and holds the result to
 * the signed manifest's SHA-256 before it writes a byte; anything short of that falls back to the full
 * image.
 */
export const firmwareDelta = z.object({
  format: z.literal('vcdiff'),
  fromVersion: z.string().min(1).max(64),
  fromSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The delta's own size and SHA-256, checked as it downloads. */
  size: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  ...location,
});
export type FirmwareDelta = z.output<typeof firmwareDelta>;

/** fleetkit's firmware job document: what to install, where to get it, how to check it. */
export const firmwareJobDocument = z.object({
  operation: z.literal('firmware-update'),
  /** The signed image, and deltas to it from the versions a rollout may start from. */
  firmware: signedArtifact.extend({ deltas: z.array(firmwareDelta).max(16).optional() }),
  ...jobDocumentCommon,
});
export type FirmwareJobDocument = z.output<typeof firmwareJobDocument>;

/**
 * fleetkit's anomaly-model job document: a new model version for the edge agent, signed like firmware
 * (a manifest with purpose `model`, by a key the device trusts for models). The version is also the
 * model's file name on the device and must match the version the ONNX file declares in its metadata.
 */
export const modelJobDocument = z.object({
  operation: z.literal('model-update'),
  model: signedArtifact,
  ...jobDocumentCommon,
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
  readonly jobDocument?: DeviceJobDocument;
}
