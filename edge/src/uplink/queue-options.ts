/** What a full queue gives up. */
export type FullPolicy = 'drop-oldest' | 'refuse-newest';

/** Where the queue tells about recoveries and drops, for the device log. */
export type QueueLog = (event: string, detail: Record<string, unknown>) => void;

export interface DiskQueueOptions {
  /** Directory of the segments and cursor; created if missing. One queue per directory. */
  readonly directory: string;
  /** Most bytes of segments on disk; at least twice `segmentBytes`. @default 16 MiB */
  readonly maxBytes?: number;
  /** Size at which the active segment is closed and a new one started; the unit the full policy drops. @default 256 KiB */
  readonly segmentBytes?: number;
  /** @default 'drop-oldest' */
  readonly fullPolicy?: FullPolicy;
  /** @default 'always' */
  readonly fsync?: 'always' | 'never';
  /** Told about recoveries and drops, for the device log. */
  readonly log?: QueueLog;
}

/** Options that cannot work; the message names the option and the value received. */
export class QueueOptionsError extends Error {
  override readonly name = 'QueueOptionsError';
}

/**
 * Checks the sizes and the policy before anything touches the disk.
 *
 * @throws QueueOptionsError naming the option and the value received
 */
export function validateQueueOptions(options: DiskQueueOptions): void {
  const segmentBytes = options.segmentBytes ?? 256 * 1024;
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  if (!Number.isInteger(segmentBytes) || segmentBytes < 1024)
    throw new QueueOptionsError(`segmentBytes must be an integer of at least 1024, got ${segmentBytes}`);
  if (!Number.isInteger(maxBytes) || maxBytes < 2 * segmentBytes)
    throw new QueueOptionsError(
      `maxBytes must be at least twice segmentBytes (${2 * segmentBytes}), got ${maxBytes}`,
    );
  const policy = options.fullPolicy ?? 'drop-oldest';
  if (policy !== 'drop-oldest' && policy !== 'refuse-newest')
    throw new QueueOptionsError(`fullPolicy must be 'drop-oldest' or 'refuse-newest', got '${policy}'`);
}
