import type { ModelJobDocument } from '../../../lib/protocol/jobs.ts';
import { type DownloadOptions, downloadFile } from './download.ts';
import { ModelUpdateFailedError, UpdateFailedError } from './errors.ts';
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
