import { type CommandAnswer, commandAnswer } from '../../../lib/protocol/commands.ts';
import type { Clock } from '../ota/ports.ts';
import type { DeviceTransport } from '../transport/ports.ts';
import { DiskQueue, type UplinkQueueMetrics } from '../uplink/disk-queue.ts';
import { type BackoffOptions, UplinkSender, type UplinkSenderMetrics } from '../uplink/sender.ts';

export interface AnswerOutboxOptions {
  /** Directory of the answers' queue segments (the uplink's own format, `disk-queue.ts`). */
  readonly directory: string;
  readonly transport: DeviceTransport;
  /** The device's answers topic, `devices/{type}/{id}/command-answers`. */
  readonly topic: string;
  readonly clock?: Clock;
  /** @default 'always' */
  readonly fsync?: 'always' | 'never';
  /** Between attempts while the link is down; a reconnection cuts the wait short. */
  readonly backoff?: BackoffOptions;
  readonly log?: (event: string, detail: Record<string, unknown>) => void;
}

const encoder = new TextEncoder();

/**
 * Store-and-forward for command answers: each answer is appended to a disk queue (fsynced before
 * `send` resolves) and published from there at QoS 1 by the uplink's sender, in order, until the
 * broker acknowledges it. So an answer given while the link is down, or just before a reboot, goes out
 * when the link is back, and nothing is lost. The queue and sender are the uplink's (`DiskQueue`,
 * `UplinkSender`), in a directory of their own: the telemetry queue publishes every record on the
 * telemetry topic and holds compact batches, not JSON answers.
 *
 * Unlike telemetry, answers are waited for (an operator's `?wait`), so the sender's backoff is cut
 * short as soon as the link comes back.
 */
export class AnswerOutbox {
  private stopWatch: (() => void) | undefined;
  private restarting: Promise<void> | undefined;

  private constructor(
    private readonly queue: DiskQueue,
    private readonly sender: UplinkSender,
    private readonly transport: DeviceTransport,
  ) {}

  static async open(options: AnswerOutboxOptions): Promise<AnswerOutbox> {
    const log = options.log ?? (() => {});
    const queue = await DiskQueue.open({
      directory: options.directory,
      // Answers are small (at most a 4 KB result) and few: a MiB holds hundreds.
      maxBytes: 1024 * 1024,
      segmentBytes: 64 * 1024,
      fsync: options.fsync ?? 'always',
      log,
    });
    const sender = new UplinkSender({
      queue,
      transport: { publish: (topic, payload) => options.transport.publish(topic, payload, { qos: 1 }) },
      topic: options.topic,
      backoff: options.backoff ?? { initialMs: 1_000, maxMs: 60_000 },
      log,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    return new AnswerOutbox(queue, sender, options.transport);
  }

  /** Starts publishing what is queued (answers left by the last run first). */
  start(): void {
    this.sender.start();
    this.stopWatch ??= this.transport.onStateChange((state) => {
      if (state !== 'connected' || this.sender.metrics().consecutiveFailures === 0) return;
      // Out of a backoff wait now: stopping leaves the head in the queue, starting sends it again.
      this.restarting ??= this.sender
        .stop()
        .then(() => this.sender.start())
        .finally(() => {
          this.restarting = undefined;
        });
    });
  }

  /** Queues one answer (checked against the protocol's schema); resolves once it is stored. */
  async send(answer: CommandAnswer): Promise<void> {
    const bytes = encoder.encode(JSON.stringify(commandAnswer.parse(answer)));
    await this.queue.append(() => bytes);
  }

  metrics(): { readonly queue: UplinkQueueMetrics; readonly sender: UplinkSenderMetrics } {
    return { queue: this.queue.metrics(), sender: this.sender.metrics() };
  }

  /** Sends nothing more and closes the queue; what is still queued goes out after the next start. */
  async stop(): Promise<void> {
    this.stopWatch?.();
    this.stopWatch = undefined;
    await this.restarting;
    await this.sender.stop();
    await this.queue.close();
  }
}
