import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkajsRecordProducer } from '../../../lambdas/adapters/kafkajs-record-producer.ts';
import type { ConsumedRecord, Consumer } from '../../../lib/local/streams/backend.ts';
import { KafkajsBackend } from '../../../lib/local/streams/kafkajs-backend.ts';
import { partitionForKey } from '../../../lib/local/streams/murmur2.ts';
import { skipWithout } from '../../support/tools.ts';
import { CONTRACT_PARTITIONS, describeTopicBackendContract } from './contract.ts';

/**
 * The kafkajs side, against the Kafka mock cluster built into librdkafka, started through Debian's
 * `kcat` (`-X test.mock.num.brokers=1`): a real Kafka wire protocol, in-memory, in a second.
 *
 * Quirks of that mock (librdkafka 2.0.2, Debian 12) that shape these tests:
 * - it names controller 0, which is none of its brokers (they are 1..N), and kafkajs asks the
 *   controller for an idempotent producer's id: producers here run with `idempotent: false`;
 * - it has no CreateTopics, and auto-creates any topic a Metadata request names, with 4 partitions:
 *   the contract uses 4 partitions, and `ensureTopic` falls back to auto-creation;
 * - a new consumer group waits a fixed 3 s for members before it forms, and a group that had
 *   members waits the session timeout less 1 s when one joins again: the session timeout is cut from
 *   kafkajs' 30 s to 6 s (short enough for a restart test, long enough that a busy CI machine does not
 *   miss heartbeats and rebalance mid-test, which would redeliver and break "exactly once"), and the
 *   contract's tests run concurrently.
 */

/** A running mock cluster and its bootstrap address. */
interface MockCluster {
  readonly bootstrap: string;
  stop(): Promise<void>;
}

/** Starts `kcat` as a consumer of a mock cluster; the cluster lives as long as kcat runs. */
function startMockCluster(): Promise<MockCluster> {
  const child: ChildProcess = spawn(
    'kcat',
    ['-b', 'localhost:1', '-X', 'test.mock.num.brokers=1', '-C', '-t', 'fleetkit-keepalive', '-o', 'end'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve();
        return;
      }
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`kcat printed no mock cluster address within 10 s; stderr: ${stderr}`));
    }, 10_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start kcat (Debian package 'kcat'; .ci/run installs it): ${error.message}`));
    });
    // Read all of stderr for as long as kcat runs: a full pipe would block it.
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const match = /Mock cluster enabled: .* replaced with (\S+)/.exec(stderr);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ bootstrap: match[1], stop });
      }
    });
  });
}

describe.skipIf(skipWithout('kcat'))('kafkajs on a real Kafka protocol (needs kcat)', () => {
  let cluster: MockCluster;
  let kafka: Kafka;
  const backends: KafkajsBackend[] = [];

  beforeAll(async () => {
    cluster = await startMockCluster();
    kafka = new Kafka({ clientId: 'fleetkit-test', brokers: [cluster.bootstrap], logLevel: logLevel.ERROR });
  });
  afterAll(async () => {
    await Promise.all(backends.map((backend) => backend.close()));
    await cluster?.stop();
  });

  const newBackend = () => {
    const backend = new KafkajsBackend({
      kafka,
      idempotent: false,
      groupTimeouts: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 6000 },
    });
    backends.push(backend);
    return backend;
  };

  describeTopicBackendContract('kafkajs on the librdkafka mock cluster', async () => newBackend());

  /** Consumes a topic from the beginning until `count` records arrived; returns them. */
  async function drain(backend: KafkajsBackend, topic: string, count: number): Promise<ConsumedRecord[]> {
    const received: ConsumedRecord[] = [];
    let consumer: Consumer | undefined;
    let arrived: () => void = () => undefined;
    const all = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    consumer = await backend.consume({
      group: `g-${randomUUID()}`,
      topic,
      maxBatch: 500,
      maxWaitMs: 0,
      fromBeginning: true,
      onBatch: async (batch) => {
        received.push(...batch);
        if (received.length >= count) arrived();
      },
    });
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`only ${received.length} of ${count} records arrived`)), 20_000),
    );
    try {
      await Promise.race([all, timeout]);
    } finally {
      await consumer.stop();
    }
    return received;
  }

  describe('kafkajs backend log ids', () => {
    it('names a topic’s log by its cluster: the same from every client of it, another on another cluster', async () => {
      // Prepare: a second mock cluster, as a Kafka wiped and started again would be
      const topic = `log-id-${randomUUID().slice(0, 8)}`;
      const other = await startMockCluster();
      const otherBackend = new KafkajsBackend({
        kafka: new Kafka({ clientId: 'fleetkit-test', brokers: [other.bootstrap], logLevel: logLevel.ERROR }),
        idempotent: false,
      });
      try {
        const [one, two] = [newBackend(), newBackend()];
        await one.ensureTopic(topic, CONTRACT_PARTITIONS);
        await otherBackend.ensureTopic(topic, CONTRACT_PARTITIONS);

        // Act
        const ids = [await one.logId(topic), await two.logId(topic), await otherBackend.logId(topic)];

        // Assess
        expect(ids[1]).toBe(ids[0]);
        expect(ids[2]).not.toBe(ids[0]);
      } finally {
        await otherBackend.close();
        await other.stop();
      }
    });
  });

  describe.concurrent('kafkajs producers on the mock cluster', () => {
    it('puts each key in the partition the embedded log would choose (murmur2)', async ({ expect }) => {
      // Prepare
      const backend = newBackend();
      const topic = `partitioner-${randomUUID().slice(0, 8)}`;
      await backend.ensureTopic(topic, CONTRACT_PARTITIONS);
      const keys = Array.from({ length: 40 }, (_, i) => `sim-${String(i).padStart(4, '0')}`);

      // Act
      await backend.produce(
        topic,
        keys.map((key) => ({ key, value: key })),
      );
      const received = await drain(backend, topic, keys.length);

      // Assess
      expect(received).toHaveLength(keys.length);
      for (const record of received) {
        expect(record.partition).toBe(
          partitionForKey(record.key?.toString('utf8') ?? '', CONTRACT_PARTITIONS),
        );
      }
    });

    it('KafkajsRecordProducer sends what a consumer then reads: keys, bytes and headers, in order per key', async ({
      expect,
    }) => {
      // Prepare
      const backend = newBackend();
      const topic = `producer-${randomUUID().slice(0, 8)}`;
      await backend.ensureTopic(topic, CONTRACT_PARTITIONS);
      const producer = new KafkajsRecordProducer({ kafka: async () => kafka, idempotent: false });

      // Act
      await producer.send(topic, [
        { key: 'sim-0001', value: Uint8Array.of(0, 255, 7), headers: { 'content-type': 'application/cbor' } },
        { key: 'sim-0001', value: 'second' },
      ]);
      await producer.send(topic, [{ key: 'sim-0001', value: 'third' }]);
      const received = await drain(backend, topic, 3);
      await producer.disconnect();

      // Assess
      expect(received.map((record) => record.value)).toEqual([
        Buffer.of(0, 255, 7),
        Buffer.from('second'),
        Buffer.from('third'),
      ]);
      expect(received[0]?.headers).toEqual({ 'content-type': Buffer.from('application/cbor') });
      expect(new Set(received.map((record) => record.partition))).toEqual(
        new Set([partitionForKey('sim-0001', CONTRACT_PARTITIONS)]),
      );
    });
  });
});
