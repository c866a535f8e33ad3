import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { OutgoingRecord } from '../../../lambdas/ports.ts';
import type {
  BatchHandler,
  ConsumedRecord,
  ConsumeOptions,
  Consumer,
  TopicBackend,
} from '../../../lib/local/streams/backend.ts';

/**
 * Partitions of every contract topic. Four because librdkafka's mock cluster auto-creates topics with
 * four partitions and cannot create them otherwise (it has no CreateTopics); the embedded log is
 * asked for the same, so both backends run the suite on the same layout.
 */
export const CONTRACT_PARTITIONS = 4;

/** Longest a test waits for deliveries it expects: a bound against hanging, never a timing assertion. */
const DELIVERY_TIMEOUT_MS = 20_000;

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
const text = (buffer: Buffer | null) => buffer?.toString('utf8');

/** Records handed to one consumer, every attempt included (a failing handler's too), in arrival order. */
interface Recorder {
  readonly batches: ConsumedRecord[][];
  readonly onBatch: BatchHandler;
  /** Resolves once `done()` holds; rejects, naming `what`, after {@link DELIVERY_TIMEOUT_MS}. */
  until(what: string, done: () => boolean): Promise<void>;
  /** Every record value handed over, in arrival order. */
  values(): string[];
}

/** @param react runs after a batch is recorded; throwing from it fails that delivery */
function recorder(react?: (batch: readonly ConsumedRecord[], attempt: number) => void): Recorder {
  const batches: ConsumedRecord[][] = [];
  const listeners = new Set<() => void>();
  return {
    batches,
    onBatch: async (records) => {
      batches.push([...records]);
      for (const listener of [...listeners]) listener();
      react?.(records, batches.length);
    },
    until: (what, done) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!done()) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          const seen = batches.map((b) => b.map((r) => `${r.partition}:${r.offset}`).join(',')).join(' | ');
          reject(new Error(`timed out waiting for ${what}; batches so far: ${seen || 'none'}`));
        }, DELIVERY_TIMEOUT_MS);
        listeners.add(check);
        check();
      }),
    values: () => batches.flat().map((record) => text(record.value) ?? ''),
  };
}

/**
 * The semantics every {@link TopicBackend} promises (Lambda's MSK event source as the model), run
 * against one backend. Each test uses its own topic and groups, so tests run concurrently: a new
 * Kafka consumer group takes seconds to form, and in sequence the suite would take minutes.
 *
 * @param makeBackend called once; the suite closes the backend at the end
 */
export function describeTopicBackendContract(name: string, makeBackend: () => Promise<TopicBackend>): void {
  describe.concurrent(`TopicBackend contract: ${name}`, () => {
    let backend: TopicBackend;
    const consumers: Consumer[] = [];

    beforeAll(async () => {
      backend = await makeBackend();
    });
    afterAll(async () => {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
      await backend.close();
    });

    const topic = async (prefix: string) => {
      const name = unique(prefix);
      await backend.ensureTopic(name, CONTRACT_PARTITIONS);
      return name;
    };
    const consume = async (options: Partial<ConsumeOptions> & Pick<ConsumeOptions, 'topic' | 'onBatch'>) => {
      const consumer = await backend.consume({
        group: unique('group'),
        maxBatch: 100,
        maxWaitMs: 0,
        fromBeginning: true,
        retryDelayMs: 50,
        ...options,
      });
      consumers.push(consumer);
      return consumer;
    };
    const records = (key: string, from: number, count: number): OutgoingRecord[] =>
      Array.from({ length: count }, (_, i) => ({ key, value: `${key}#${from + i}` }));

    it('keeps the records of one key in one partition, in the order they were produced', async ({
      expect,
    }) => {
      // Prepare
      const name = await topic('order');
      for (let call = 0; call < 3; call++) {
        await backend.produce(name, [
          ...records('device-a', call * 10, 10),
          ...records('device-b', call * 10, 10),
        ]);
      }
      const seen = recorder();

      // Act
      const consumer = await consume({ topic: name, onBatch: seen.onBatch, maxBatch: 7 });
      await seen.until('60 records', () => seen.batches.flat().length >= 60);
      await consumer.stop();

      // Assess
      for (const key of ['device-a', 'device-b']) {
        const mine = seen.batches.flat().filter((record) => text(record.key) === key);
        expect(mine.map((record) => text(record.value))).toEqual(records(key, 0, 30).map((r) => r.value));
        expect(new Set(mine.map((record) => record.partition)).size).toBe(1);
        const offsets = mine.map((record) => BigInt(record.offset));
        expect(offsets).toEqual([...offsets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      }
    });

    it('delivers every record exactly once when nothing fails, with keys spread over partitions', async ({
      expect,
    }) => {
      // Prepare
      const name = await topic('spread');
      const keys = Array.from({ length: 40 }, (_, i) => `device-${i}`);
      await backend.produce(
        name,
        keys.flatMap((key) => records(key, 0, 2)),
      );
      const seen = recorder();

      // Act
      const consumer = await consume({ topic: name, onBatch: seen.onBatch, maxBatch: 10 });
      await seen.until('80 records', () => seen.batches.flat().length >= 80);
      await consumer.stop();

      // Assess
      const delivered = seen.values().sort();
      expect(delivered).toEqual(keys.flatMap((key) => records(key, 0, 2).map((r) => String(r.value))).sort());
      const partitionsOfKey = new Map<string, Set<number>>();
      for (const record of seen.batches.flat()) {
        const key = text(record.key) ?? '';
        partitionsOfKey.set(key, (partitionsOfKey.get(key) ?? new Set()).add(record.partition));
      }
      expect([...partitionsOfKey.values()].every((partitions) => partitions.size === 1)).toBe(true);
      expect(new Set(seen.batches.flat().map((record) => record.partition)).size).toBeGreaterThan(1);
      for (const batch of seen.batches) expect(batch.length).toBeLessThanOrEqual(10);
    });

    it('hands a failed batch over again, unchanged, before anything after it in that partition', async ({
      expect,
    }) => {
      // Prepare
      const name = await topic('retry');
      await backend.produce(name, records('device-r', 0, 6));
      let failures = 0;
      const seen = recorder((batch) => {
        if (batch.some((record) => text(record.value) === 'device-r#2') && failures < 2) {
          failures++;
          throw new Error('handler failure (test)');
        }
      });

      // Act
      const consumer = await consume({ topic: name, onBatch: seen.onBatch, maxBatch: 2 });
      await seen.until(
        'all 6 records after two failures',
        () => failures === 2 && seen.values().includes('device-r#5'),
      );
      await consumer.stop();

      // Assess
      const failed = seen.batches.findIndex((batch) =>
        batch.some((record) => text(record.value) === 'device-r#2'),
      );
      const attempt = (index: number) =>
        seen.batches[index]?.map((record) => [record.offset, text(record.value)]);
      expect(failed).toBeGreaterThanOrEqual(0);
      expect(attempt(failed + 1)).toEqual(attempt(failed));
      expect(attempt(failed + 2)).toEqual(attempt(failed));
      const withoutRetries = seen.batches.filter((_, index) => index !== failed + 1 && index !== failed + 2);
      expect(withoutRetries.flat().map((record) => text(record.value))).toEqual(
        records('device-r', 0, 6).map((r) => r.value),
      );
    });

    it('commits only after the handler succeeds: a restarted consumer of the group resumes at the failed batch', async ({
      expect,
    }) => {
      // Prepare
      const name = await topic('commit');
      const group = unique('group');
      await backend.produce(name, records('device-c', 0, 4));
      const first = recorder((batch) => {
        if (batch.some((record) => text(record.value) === 'device-c#2'))
          throw new Error('handler failure (test)');
      });
      const firstConsumer = await consume({ topic: name, group, onBatch: first.onBatch, maxBatch: 2 });
      await first.until('a failed delivery of the second batch', () => first.values().includes('device-c#2'));
      await firstConsumer.stop();
      const second = recorder();

      // Act
      const secondConsumer = await consume({ topic: name, group, onBatch: second.onBatch, maxBatch: 2 });
      await second.until('the rest', () => second.values().includes('device-c#3'));
      await secondConsumer.stop();

      // Assess
      expect(first.values().slice(0, 2)).toEqual(['device-c#0', 'device-c#1']);
      expect(second.values()).toEqual(['device-c#2', 'device-c#3']);
    });

    it('keeps consumer groups independent of each other', async ({ expect }) => {
      // Prepare
      const name = await topic('groups');
      await backend.produce(name, records('device-g', 0, 5));
      const flaky = recorder((_batch, attempt) => {
        if (attempt === 1) throw new Error('handler failure (test)');
      });
      const steady = recorder();

      // Act
      const flakyConsumer = await consume({ topic: name, onBatch: flaky.onBatch, maxBatch: 2 });
      await flaky.until('all 5 records in the flaky group', () => flaky.values().includes('device-g#4'));
      await flakyConsumer.stop();
      const steadyConsumer = await consume({ topic: name, onBatch: steady.onBatch, maxBatch: 2 });
      await steady.until('all 5 records in the other group', () => steady.values().includes('device-g#4'));
      await steadyConsumer.stop();

      // Assess
      expect(steady.values()).toEqual(records('device-g', 0, 5).map((r) => r.value));
      expect(steady.batches.length).toBeGreaterThanOrEqual(3);
    });

    it('round-trips binary values and headers', async ({ expect }) => {
      // Prepare
      const name = await topic('bytes');
      const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
      const before = Date.now();
      await backend.produce(name, [
        { key: 'sensor-ü', value: binary, headers: { 'content-type': 'application/cbor', trace: 'ä-🛰' } },
        { key: 'sensor-ü', value: '{"t":21.5,"unit":"°C"}' },
      ]);
      const after = Date.now();
      const seen = recorder();

      // Act
      const consumer = await consume({ topic: name, onBatch: seen.onBatch });
      await seen.until('2 records', () => seen.batches.flat().length >= 2);
      await consumer.stop();

      // Assess
      const [first, second] = seen.batches.flat();
      expect(first?.key).toEqual(Buffer.from('sensor-ü', 'utf8'));
      expect(first?.value).toEqual(Buffer.from(binary));
      expect(first?.headers).toEqual({
        'content-type': Buffer.from('application/cbor'),
        trace: Buffer.from('ä-🛰', 'utf8'),
      });
      expect(first?.topic).toBe(name);
      expect(first?.timestamp).toBeGreaterThanOrEqual(before);
      expect(first?.timestamp).toBeLessThanOrEqual(after);
      expect(text(second?.value ?? null)).toBe('{"t":21.5,"unit":"°C"}');
      expect(second?.headers).toEqual({});
    });

    it('names a topic’s log the same each time, as one ARN path segment', async ({ expect }) => {
      // Prepare
      const name = await topic('log-id');
      await backend.produce(name, records('device-i', 0, 2));

      // Act
      const [first, second] = [await backend.logId(name), await backend.logId(name)];

      // Assess
      expect(first).toMatch(/^[\w.-]+$/);
      expect(second).toBe(first);
    });

    it('starts a new group with fromBeginning false after the records that are already there', async ({
      expect,
    }) => {
      // Prepare
      const name = await topic('latest');
      await backend.produce(name, records('device-l', 0, 3));
      const seen = recorder();
      const consumer = await consume({ topic: name, onBatch: seen.onBatch, fromBeginning: false });

      // Act
      await backend.produce(name, records('device-l', 3, 3));
      await seen.until('the 3 new records', () => seen.values().includes('device-l#5'));
      await consumer.stop();

      // Assess
      expect(seen.values()).toEqual(records('device-l', 3, 3).map((r) => r.value));
    });
  });
}
