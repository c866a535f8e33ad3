import { join } from 'node:path';
import type { Reading } from '../../../lib/protocol/messages.ts';
import { systemClock } from '../ota/clock.ts';
import type { Clock } from '../ota/ports.ts';
import { UplinkBatcher, type UplinkBatcherMetrics, type UplinkBatcherOptions } from './batcher.ts';
import { DiskQueue, type DiskQueueOptions, type UplinkQueueMetrics } from './disk-queue.ts';
import {
  UplinkSender,
  type UplinkSenderMetrics,
  type UplinkSenderOptions,
  type UplinkTransport,
} from './sender.ts';
import { SEQUENCE_FILE, SequenceNumbers } from './sequence.ts';

export interface UplinkOptions {
  /** Where the queue's segments, cursor and the open batch's journal live. */
  readonly directory: string;
  readonly transport: UplinkTransport;
  /** The device's telemetry topic, `devices/{type}/{id}/telemetry`. */
  readonly topic: string;
  readonly clock?: Clock;
  readonly fsync?: 'always' | 'never';
  readonly queue?: Omit<DiskQueueOptions, 'directory' | 'fsync' | 'log'>;
  readonly batcher?: Omit<
    UplinkBatcherOptions,
    'queue' | 'clock' | 'journalPath' | 'fsync' | 'log' | 'sequence'
  >;
  readonly sender?: Omit<UplinkSenderOptions, 'queue' | 'transport' | 'topic' | 'clock' | 'log'>;
  readonly log?: (event: string, detail: Record<string, unknown>) => void;
}

export interface UplinkMetrics {
  readonly batcher: UplinkBatcherMetrics;
  readonly queue: UplinkQueueMetrics;
  readonly sender: UplinkSenderMetrics;
}

/** The journal of the open batch, beside the queue's segments (which the queue alone reads). */
export const JOURNAL_FILE = 'open-batch.journal';

/**
 * The device's telemetry path: readings → numbered (`seq`, persisted: `sequence.ts`) → batcher
 * (journaled) → disk queue → sender → transport.
 * `add` readings; `start` sends; `stop` sends nothing more, queues the open batch and closes the files.
 */
export class Uplink {
  private constructor(
    readonly batcher: UplinkBatcher,
    readonly queue: DiskQueue,
    readonly sender: UplinkSender,
  ) {}

  /**
   * Opens the queue, the journal and the sequence numbers in `options.directory`, recovering what a
   * crash left.
   */
  static async open(options: UplinkOptions): Promise<Uplink> {
    const log = options.log ?? (() => {});
    const clock = options.clock === undefined ? {} : { clock: options.clock };
    const fsync = options.fsync === undefined ? {} : { fsync: options.fsync };
    const queue = await DiskQueue.open({ ...options.queue, directory: options.directory, log, ...fsync });
    const sequence = await SequenceNumbers.open({
      path: join(options.directory, SEQUENCE_FILE),
      clock: options.clock ?? systemClock,
      ...fsync,
    });
    const batcher = await UplinkBatcher.open({
      ...options.batcher,
      queue,
      journalPath: join(options.directory, JOURNAL_FILE),
      log,
      sequence,
      ...clock,
      ...fsync,
    });
    const sender = new UplinkSender({
      ...options.sender,
      queue,
      transport: options.transport,
      topic: options.topic,
      log,
      ...clock,
    });
    return new Uplink(batcher, queue, sender);
  }

  /** See {@link UplinkBatcher.add}. */
  add(reading: Reading, options?: { readonly urgent?: boolean }): Promise<Reading> {
    return this.batcher.add(reading, options);
  }

  start(): void {
    this.sender.start();
  }

  async stop(): Promise<void> {
    await this.sender.stop();
    await this.batcher.stop();
    await this.queue.close();
  }

  metrics(): UplinkMetrics {
    return { batcher: this.batcher.metrics(), queue: this.queue.metrics(), sender: this.sender.metrics() };
  }
}
