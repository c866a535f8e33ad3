import { type ModelJobDocument, modelJobDocument } from '../../../lib/protocol/jobs.ts';
import { type AgentCore, raiseFloor } from './agent-core.ts';
import { type DownloadOptions, downloadFile } from './download.ts';
import { JobEndedError, ModelUpdateFailedError, UpdateFailedError } from './errors.ts';
import { details } from './execution-reporter.ts';
import type { CheckedJob } from './job-checks.ts';
import type { Clock, Downloader, ModelInstaller } from './ports.ts';
import { steppedProgress } from './progress.ts';
import { verifyFile } from './verify.ts';

/** What installing a delivered model needs from the OTA agent running its job. */
export interface ModelJobContext {
  readonly downloader: Downloader;
  readonly clock: Clock;
  readonly download?: Pick<
    DownloadOptions,
    'maxAttempts' | 'maxRenewals' | 'backoffMs' | 'expiryMarginSeconds'
  >;
  /** @default 10 */
  readonly progressStepPercent?: number;
  readonly signal: AbortSignal;
  /** Updates the job's `statusDetails` (step, progress). */
  readonly report: (fields: Record<string, string>) => Promise<void>;
  /** The job document again, with a fresh URL, when the presigned one expired. */
  readonly renew: () => Promise<ModelJobDocument['model']>;
  readonly log: (event: string, fields: Readonly<Record<string, unknown>>) => void;
}

/**
 * A `model-update` job's work once its signed manifest passed every check (`job-checks.ts`): a
 * resumable download to the installer's staging file, size + SHA-256 against the signed manifest, then
 * the installer (the detector's verified swap). Nothing serves until every check has passed.
 *
 * @throws ModelUpdateFailedError with the reason the job reports (`download`, `verification`,
 *   `model-rejected`, `install`)
 */
export async function installDeliveredModel(
  context: ModelJobContext,
  declared: ModelJobDocument['model'],
  installer: ModelInstaller,
): Promise<void> {
  const { signal } = context;
  const asFailure = (error: unknown): never => {
    if (error instanceof UpdateFailedError) {
      throw new ModelUpdateFailedError(
        error.reason === 'download' ? 'download' : 'verification',
        error.step === 'downloading' ? 'downloading' : 'verifying',
        `${error.reason}: ${error.detail}`,
      );
    }
    throw error;
  };
  const manifest = declared.manifest;
  const modelVersion = manifest.version;
  const staging = await installer.staging(modelVersion);
  const progress = steppedProgress(context.progressStepPercent ?? 10, (percent) =>
    context.report({ step: 'downloading', progress: `${percent}%`, modelVersion }),
  );
  await progress(await staging.size(), manifest.size);
  try {
    const result = await downloadFile({
      target: staging,
      downloader: context.downloader,
      clock: context.clock,
      firmware: {
        url: declared.url,
        urlExpiresAt: declared.urlExpiresAt,
        size: manifest.size,
        sha256: manifest.sha256,
      },
      signal,
      renew: async () => {
        const fresh = await context.renew();
        return {
          url: fresh.url,
          urlExpiresAt: fresh.urlExpiresAt,
          size: fresh.manifest.size,
          sha256: fresh.manifest.sha256,
        };
      },
      onProgress: progress,
      ...context.download,
    });
    context.log('downloaded', { resumedFrom: result.resumedFrom, requests: result.requests });
    await context.report({ step: 'verifying', modelVersion });
    // Held to the manifest checked before the download, whatever a renewed document said.
    await verifyFile(staging, manifest);
  } catch (error) {
    signal.throwIfAborted();
    // Bytes that do not verify are no start for the next attempt.
    if (error instanceof UpdateFailedError && error.reason !== 'download') await staging.discard();
    asFailure(error);
  }
  signal.throwIfAborted();
  await context.report({ step: 'installing', modelVersion });
  try {
    await installer.install(
      { version: modelVersion, path: staging.path, sha256: manifest.sha256, sizeBytes: manifest.size },
      signal,
    );
  } catch (error) {
    signal.throwIfAborted();
    const rejection = (error as { reason?: unknown }).reason;
    if (typeof rejection === 'string')
      throw new ModelUpdateFailedError('model-rejected', 'installing', (error as Error).message, rejection);
    throw new ModelUpdateFailedError('install', 'installing', (error as Error).message);
  }
}

/**
 * A `model-update` job, start to end in one go: signature over the declared digest, resumable
 * download to the installer's staging file, size + SHA-256 + signature over the bytes, then the
 * installer (the detector's swap). Firmware state and slots are not touched. The outcome is saved as
 * `reporting`, like firmware's; a restart before that runs the job again from start-next.
 */
export async function runModelJob(
  core: AgentCore,
  jobId: string,
  versionNumber: number,
  document: ModelJobDocument,
  checked: CheckedJob,
): Promise<void> {
  const model = document.model.manifest;
  // The execution version reports reach, kept up to date by the agent while the job is tracked.
  const tracked = { jobId, versionNumber };
  const conclude = (status: 'SUCCEEDED' | 'FAILED' | 'REJECTED', fields: Record<string, string>) =>
    core.save({
      phase: 'reporting',
      jobId,
      versionNumber: tracked.versionNumber,
      status,
      statusDetails: details({ ...fields, modelVersion: model.version }),
    });
  const installer = core.options.models;
  if (installer === undefined) {
    core.log('job-rejected', { jobId, issues: 'model updates are not enabled on this device' });
    await conclude('REJECTED', {
      reason: 'unsupported-operation',
      detail: 'this agent has no model installer: model updates are not enabled on this device',
    });
    return;
  }
  if (installer.servingVersion() === model.version) {
    await conclude('SUCCEEDED', {
      step: 'committed',
      progress: '100%',
      detail: `already serving ${model.version}`,
    });
    return;
  }
  core.trackModelJob(tracked);
  try {
    await installDeliveredModel(
      {
        downloader: core.options.downloader,
        clock: core.options.clock,
        ...(core.options.download === undefined ? {} : { download: core.options.download }),
        ...(core.options.progressStepPercent === undefined
          ? {}
          : { progressStepPercent: core.options.progressStepPercent }),
        signal: core.jobSignal(),
        report: (fields) => core.reporter.reportJobProgress(jobId, fields),
        renew: () => renewModelUrl(core, jobId, document.model),
        log: (event, fields) => core.log(event, { jobId, ...fields }),
      },
      document.model,
      installer,
    );
    await raiseFloor(core, 'model', checked.securityVersion, checked.grant);
    core.log('model-committed', { jobId, version: model.version });
    await conclude('SUCCEEDED', { step: 'committed', progress: '100%' });
  } catch (error) {
    if (error instanceof ModelUpdateFailedError) {
      core.log('model-update-failed', { jobId, reason: error.reported, detail: error.detail });
      await conclude('FAILED', { step: error.step, reason: error.reported, detail: error.detail });
      return;
    }
    if (error instanceof JobEndedError) {
      core.log('job-ended', { jobId: error.jobId, status: error.status, phase: 'model-update' });
      return;
    }
    throw error;
  } finally {
    core.trackModelJob(undefined);
  }
}

async function renewModelUrl(
  core: AgentCore,
  jobId: string,
  declared: ModelJobDocument['model'],
): Promise<ModelJobDocument['model']> {
  const execution = await core.reporter.describeLive(jobId, true);
  const parsed = modelJobDocument.safeParse(execution.jobDocument);
  if (!parsed.success || parsed.data.model.manifest.sha256 !== declared.manifest.sha256) {
    throw new UpdateFailedError(
      'download',
      'downloading',
      'the job document fetched to renew the URL does not parse as the same model version',
    );
  }
  core.log('url-renewed', { jobId, urlExpiresAt: parsed.data.model.urlExpiresAt });
  return parsed.data.model;
}
