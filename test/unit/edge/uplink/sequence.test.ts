import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SEQUENCE_FILE, SequenceNumbers } from '../../../../edge/src/uplink/sequence.ts';
import { Uplink } from '../../../../edge/src/uplink/uplink.ts';
import { FakeTransport, ManualClock, T0, tempDir } from './support.ts';

async function take(numbers: SequenceNumbers, count: number): Promise<number[]> {
  const taken: number[] = [];
  for (let i = 0; i < count; i++) taken.push(await numbers.take());
  return taken;
}

describe('SequenceNumbers', () => {
  it('starts at the clock on a new device, then counts up by one', async () => {
    // Prepare
    const path = join(await tempDir(), SEQUENCE_FILE);

    // Act
    const numbers = await SequenceNumbers.open({ path, clock: new ManualClock(T0), blockSize: 4 });

    // Assess: across block boundaries too
    expect(await take(numbers, 10)).toEqual(Array.from({ length: 10 }, (_, i) => T0 + i));
  });

  it('never repeats a number after a power cut and a clock reset to an earlier time', async () => {
    // Prepare: a run that hands out numbers, then dies mid-block (nothing closed, nothing flushed)
    const path = join(await tempDir(), SEQUENCE_FILE);
    const before = await take(
      await SequenceNumbers.open({ path, clock: new ManualClock(T0), blockSize: 8 }),
      13,
    );

    // Act: the real-time clock lost its time and came back a day early
    const after = await SequenceNumbers.open({ path, clock: new ManualClock(T0 - 86_400_000), blockSize: 8 });
    const next = await take(after, 3);

    // Assess: every number above every number of the first run (the unused rest of its block skipped)
    expect(Math.min(...next)).toBeGreaterThan(Math.max(...before));
    expect(next).toEqual([T0 + 16, T0 + 17, T0 + 18]);
  });

  it('falls back on the clock when the file is lost or damaged, still above the numbers used before', async () => {
    // Prepare
    const dir = await tempDir();
    const path = join(dir, SEQUENCE_FILE);
    const clock = new ManualClock(T0);
    const first = await take(await SequenceNumbers.open({ path, clock }), 100);

    // Act: a minute later (100 readings take far longer), the file gone; then damaged
    clock.advance(60_000);
    await rm(path);
    const lost = await take(await SequenceNumbers.open({ path, clock }), 1);
    await writeFile(path, '{"reservedBelow": "soon"');
    clock.advance(60_000);
    const damaged = await take(await SequenceNumbers.open({ path, clock }), 1);

    // Assess
    expect(lost[0]).toBe(T0 + 60_000);
    expect(lost[0]).toBeGreaterThan(Math.max(...first));
    expect(damaged[0]).toBe(T0 + 120_000);
  });
});

describe('Uplink numbering', () => {
  it('numbers readings without a seq (own samples and CoAP sensors alike) and keeps the numbers across a restart', async () => {
    // Prepare
    const directory = await tempDir();
    const open = (clock: ManualClock) =>
      Uplink.open({ directory, topic: 'devices/t/d/telemetry', transport: new FakeTransport(), clock });
    const first = await open(new ManualClock(T0));

    // Act: two readings, a restart with the clock reset, one more; and one that brings its own seq
    const a = await first.add({ ts: T0, values: { temperature: 20 } });
    const b = await first.add({ ts: T0 + 1000, values: { humidity: 41.5 } });
    await first.stop();
    const second = await open(new ManualClock(T0 - 3_600_000));
    const c = await second.add({ ts: T0 + 2000, values: { temperature: 20.5 } });
    const given = await second.add({ ts: T0 + 3000, seq: 7, values: { temperature: 20.5 } });
    await second.stop();

    // Assess
    expect([a.seq, b.seq]).toEqual([T0, T0 + 1]);
    expect(c.seq).toBeGreaterThan(T0 + 1);
    expect(given.seq).toBe(7);
  });
});
