import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConsumedRecord, Consumer } from '../../../lib/local/streams/backend.ts';
import { EmbeddedLog } from '../../../lib/local/streams/embedded-log.ts';
import {
  ConsumerGroupBusyError,
  InvalidTopicNameError,
  LogLockedError,
  RecordTooLargeError,
  UnknownTopicError,
} from '../../../lib/local/streams/errors.ts';
import { CONTRACT_PARTITIONS, describeTopicBackendContract } from './contract.ts';

const dirs: string[] = [];
const newDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetkit-log-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describeTopicBackendContract('embedded log', async () => EmbeddedLog.open({ dir: await newDir() }));

const values = (records: readonly ConsumedRecord[]) =>
  records.map((record) => record.value?.toString('utf8'));

/** Consumes from the beginning until `count` records arrived, then stops; returns them in order. */
async function drain(log: EmbeddedLog, topic: string, count: number, group = `g-${randomUUID()}`) {
  const received: ConsumedRecord[] = [];
  let consumer: Consumer | undefined;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`only ${received.length} of ${count} records arrived`)),
      20_000,
    );
    log
      .consume({
        group,
        topic,
        maxBatch: 1000,
        maxWaitMs: 0,
        fromBeginning: true,
        onBatch: async (batch) => {
          received.push(...batch);
          if (received.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .then((started) => {
        consumer = started;
      }, reject);
  });
  await consumer?.stop();
  return received;
}

/** The one segment file of partition 0 (tests that use it produce with one key, to partition 0's topic). */
async function onlySegment(dir: string, topic: string): Promise<string> {
  const files = (await readdir(join(dir, 'topics', topic, '0'))).filter((name) => name.endsWith('.log'));
  expect(files).toHaveLength(1);
  return join(dir, 'topics', topic, '0', files[0] as string);
}

describe('EmbeddedLog beyond the contract', () => {
  it('keeps every record and committed offset across a restart on the same directory', async () => {
    // Prepare
    const dir = await newDir();
    const first = await EmbeddedLog.open({ dir });
    await first.ensureTopic('telemetry', CONTRACT_PARTITIONS);
    await first.produce(
      'telemetry',
      Array.from({ length: 10 }, (_, i) => ({ key: `d-${i % 3}`, value: `v${i}` })),
    );
    await drain(first, 'telemetry', 10, 'processor');
    await first.produce('telemetry', [{ key: 'd-0', value: 'after-commit' }]);
    await first.close();

    // Act
    const second = await EmbeddedLog.open({ dir });
    const resumed = await drain(second, 'telemetry', 1, 'processor');
    const everything = await drain(second, 'telemetry', 11, 'auditor');
    await second.close();

    // Assess
    expect(values(resumed)).toEqual(['after-commit']);
    expect(values(everything).sort()).toEqual(
      [...Array.from({ length: 10 }, (_, i) => `v${i}`), 'after-commit'].sort(),
    );
  });

  it('keeps a topic’s log id across a restart, and makes a new one when the topic is made anew', async () => {
    // Prepare
    const dir = await newDir();
    const first = await EmbeddedLog.open({ dir });
    await first.ensureTopic('telemetry', 2);
    const original = await first.logId('telemetry');
    await first.close();

    // Act: a restart; then the topic's folder deleted and the topic created again
    const restarted = await EmbeddedLog.open({ dir });
    const afterRestart = await restarted.logId('telemetry');
    await restarted.close();
    await rm(join(dir, 'topics', 'telemetry'), { recursive: true });
    const recreated = await EmbeddedLog.open({ dir });
    await recreated.ensureTopic('telemetry', 2);
    const afterRecreate = await recreated.logId('telemetry');
    await recreated.close();

    // Assess
    expect(afterRestart).toBe(original);
    expect(afterRecreate).not.toBe(original);
  });

  it('gives a topic written before topics had ids one, and keeps it', async () => {
    // Prepare: a topic.json as an earlier version wrote it
    const dir = await newDir();
    const log = await EmbeddedLog.open({ dir });
    await log.ensureTopic('t', 1);
    await log.close();
    await writeFile(join(dir, 'topics', 't', 'topic.json'), JSON.stringify({ partitions: 1 }));

    // Act
    const reopened = await EmbeddedLog.open({ dir });
    const given = await reopened.logId('t');
    await reopened.close();
    const again = await EmbeddedLog.open({ dir });
    const kept = await again.logId('t');
    await again.close();

    // Assess
    expect(given).toMatch(/^[0-9a-f-]{36}$/);
    expect(kept).toBe(given);
  });

  it.each([
    [
      'half a frame after the last record',
      (file: string) => appendFile(file, Buffer.from([0, 0, 0, 40, 1, 2, 3])),
    ],
    [
      'a frame header promising more bytes than follow',
      (file: string) => appendFile(file, Buffer.alloc(20, 0xff)),
    ],
    [
      'a last record whose bytes were not all written (CRC mismatch)',
      async (file: string) => {
        const { size } = await stat(file);
        const content = await readFile(file);
        content[size - 1] = (content[size - 1] ?? 0) ^ 0xff;
        await writeFile(file, content);
      },
    ],
  ])('cuts a torn tail on open: %s', async (rule, damage) => {
    // Prepare
    const dir = await newDir();
    const log = await EmbeddedLog.open({ dir });
    await log.ensureTopic('t', 1);
    await log.produce('t', [
      { key: 'k', value: 'one' },
      { key: 'k', value: 'two' },
    ]);
    await log.produce('t', [{ key: 'k', value: 'three' }]);
    await log.close();
    const file = await onlySegment(dir, 't');
    const intactSize = (await stat(file)).size;
    await damage(file);
    const lostLast = rule.includes('CRC');

    // Act
    const reopened = await EmbeddedLog.open({ dir });
    const before = await drain(reopened, 't', lostLast ? 2 : 3);
    await reopened.produce('t', [{ key: 'k', value: 'four' }]);
    const after = await drain(reopened, 't', lostLast ? 3 : 4);
    await reopened.close();

    // Assess
    expect(values(before)).toEqual(lostLast ? ['one', 'two'] : ['one', 'two', 'three']);
    expect(values(after)).toEqual(lostLast ? ['one', 'two', 'four'] : ['one', 'two', 'three', 'four']);
    if (!lostLast) expect((await stat(file)).size).toBeGreaterThan(intactSize);
  });

  it('recovers a segment whose header was torn while it was being created', async () => {
    // Prepare
    const dir = await newDir();
    const log = await EmbeddedLog.open({ dir });
    await log.ensureTopic('t', 1);
    await log.close();
    await truncate(await onlySegment(dir, 't'), 3);

    // Act
    const reopened = await EmbeddedLog.open({ dir });
    await reopened.produce('t', [{ key: 'k', value: 'first' }]);
    const received = await drain(reopened, 't', 1);
    await reopened.close();

    // Assess
    expect(values(received)).toEqual(['first']);
  });

  it('deletes whole old segments beyond retention, and consumers carry on from the oldest record left', async () => {
    // Prepare
    const dir = await newDir();
    const log = await EmbeddedLog.open({ dir, segmentRecords: 10, retentionRecords: 25 });
    await log.ensureTopic('t', 1);

    // Act
    for (let i = 0; i < 60; i++) await log.produce('t', [{ key: 'k', value: `v${i}` }]);
    const [partition] = await log.describe('t');
    const files = (await readdir(join(dir, 'topics', 't', '0')))
      .filter((name) => name.endsWith('.log'))
      .sort();
    const received = await drain(log, 't', 60 - (partition?.start ?? 0));
    await log.close();

    // Assess: segments of 10 records; the newest 25 records need 3 segments (30..59), plus the active one.
    expect(partition).toMatchObject({ start: 30, end: 60, segments: [30, 40, 50] });
    expect(files).toEqual([
      '00000000000000000030.log',
      '00000000000000000040.log',
      '00000000000000000050.log',
    ]);
    expect(values(received)).toEqual(Array.from({ length: 30 }, (_, i) => `v${30 + i}`));
  });

  it('bounds retention by bytes too, whichever bound is reached first', async () => {
    // Prepare
    const dir = await newDir();
    const log = await EmbeddedLog.open({
      dir,
      segmentBytes: 4096,
      retentionBytes: 16_384,
      retentionRecords: 1e6,
    });
    await log.ensureTopic('t', 1);

    // Act
    for (let i = 0; i < 100; i++) await log.produce('t', [{ key: 'k', value: Buffer.alloc(1000, i) }]);
    const [partition] = await log.describe('t');
    const sizes = await Promise.all(
      (await readdir(join(dir, 'topics', 't', '0'))).map(
        async (name) => (await stat(join(dir, 'topics', 't', '0', name))).size,
      ),
    );
    await log.close();

    // Assess
    const total = sizes.reduce((sum, size) => sum + size, 0);
    expect(partition?.start).toBeGreaterThan(0);
    expect(total).toBeGreaterThanOrEqual(16_384);
    expect(total).toBeLessThan(16_384 + 2 * 5120);
  });

  it('has every acknowledged record on disk: a producer killed with SIGKILL loses none of them', async () => {
    // Prepare: a child process produces in a loop and prints each acknowledgement; it is killed mid-stream.
    const dir = await newDir();
    // .mts: the temporary directory has no package.json saying "type": "module".
    const script = join(dir, 'producer.mts');
    const logModule = fileURLToPath(new URL('../../../lib/local/streams/embedded-log.ts', import.meta.url));
    const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
    await writeFile(
      script,
      `import { EmbeddedLog } from ${JSON.stringify(logModule)};
const log = await EmbeddedLog.open({ dir: ${JSON.stringify(join(dir, 'data'))} });
await log.ensureTopic('t', 2);
for (let i = 0; ; i++) {
  await log.produce('t', [{ key: 'k' + (i % 5), value: 'v' + i }, { key: 'k' + ((i + 1) % 5), value: 'w' + i }]);
  process.stdout.write('acked ' + i + '\\n');
}
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let acked = -1;
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`producer exited early with ${code}`)));
      child.stdout.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          const match = /^acked (\d+)$/.exec(line);
          if (match) acked = Number(match[1]);
        }
        if (acked >= 200) {
          child.removeAllListeners('exit');
          child.kill('SIGKILL');
          child.once('exit', () => resolve());
        }
      });
    });

    // Act
    const log = await EmbeddedLog.open({ dir: join(dir, 'data') });
    const partitions = await log.describe('t');
    const total = partitions.reduce((sum, p) => sum + p.end, 0);
    const received = values(await drain(log, 't', total));
    await log.produce('t', [{ key: 'k0', value: 'after-crash' }]);
    await log.close();

    // Assess
    for (let i = 0; i <= acked; i++) {
      expect(received).toContain(`v${i}`);
      expect(received).toContain(`w${i}`);
    }
    expect(new Set(received).size).toBe(received.length);
  });

  it('wakes a waiting consumer when a record is produced, without waiting for its fallback timer', async () => {
    // Prepare
    const dir = await newDir();
    const log = await EmbeddedLog.open({ dir, idleWakeMs: 600_000 });
    await log.ensureTopic('t', 1);
    const arrived = new Promise<readonly ConsumedRecord[]>((resolve) => {
      void log.consume({
        group: 'g',
        topic: 't',
        maxBatch: 10,
        maxWaitMs: 0,
        fromBeginning: true,
        onBatch: async (b) => resolve(b),
      });
    });

    // Act
    await new Promise((resolve) => setTimeout(resolve, 50));
    await log.produce('t', [{ key: 'k', value: 'ping' }]);

    // Assess
    expect(values(await arrived)).toEqual(['ping']);
    await log.close();
  });

  it('waits up to maxWaitMs for a batch to fill', async () => {
    // Prepare
    const dir = await newDir();
    const log = await EmbeddedLog.open({ dir });
    await log.ensureTopic('t', 1);
    const batches: string[][] = [];
    const consumer = await log.consume({
      group: 'g',
      topic: 't',
      maxBatch: 5,
      maxWaitMs: 10_000,
      fromBeginning: true,
      onBatch: async (batch) => {
        batches.push(values(batch) as string[]);
      },
    });

    // Act
    await log.produce('t', [{ key: 'k', value: 'a' }]);
    await log.produce('t', [{ key: 'k', value: 'b' }]);
    await log.produce(
      't',
      ['c', 'd', 'e'].map((value) => ({ key: 'k', value })),
    );
    await expect.poll(() => batches.length, { timeout: 20_000 }).toBe(1);
    await consumer.stop();
    await log.close();

    // Assess
    expect(batches).toEqual([['a', 'b', 'c', 'd', 'e']]);
  });

  it('refuses what it cannot do with typed errors', async () => {
    // Prepare
    const dir = await newDir();
    const log = await EmbeddedLog.open({ dir, maxRecordBytes: 1024 });
    await log.ensureTopic('t', 1);
    const options = {
      group: 'g',
      topic: 't',
      maxBatch: 1,
      maxWaitMs: 0,
      fromBeginning: true,
      onBatch: async () => {},
    };
    const consumer = await log.consume(options);

    // Act + Assess
    await expect(EmbeddedLog.open({ dir })).rejects.toBeInstanceOf(LogLockedError);
    await expect(log.produce('missing', [{ key: 'k', value: 'v' }])).rejects.toBeInstanceOf(
      UnknownTopicError,
    );
    await expect(log.ensureTopic('../escape', 1)).rejects.toBeInstanceOf(InvalidTopicNameError);
    await expect(log.produce('t', [{ key: 'k', value: Buffer.alloc(2048) }])).rejects.toBeInstanceOf(
      RecordTooLargeError,
    );
    await expect(log.consume(options)).rejects.toBeInstanceOf(ConsumerGroupBusyError);
    await consumer.stop();
    await log.close();
  });
});
