import { link, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SlotStateError } from '../../../../edge/src/ota/boot-state.ts';
import { FileSlotStore } from '../../../../edge/src/ota/fs-slot-store.ts';
import { MemorySlotStore } from '../../../../edge/src/ota/memory-slot-store.ts';
import type { SlotStore } from '../../../../edge/src/ota/ports.ts';
import { FileAgentStateStore, MemoryAgentStateStore } from '../../../../edge/src/ota/state-store.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetkit-ota-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function write(slots: SlotStore, slot: 'a' | 'b', bytes: string, offset = 0): Promise<void> {
  const writer = await slots.openForWrite(slot, offset);
  await writer.write(Buffer.from(bytes));
  await writer.close();
}

async function contents(slots: SlotStore, slot: 'a' | 'b'): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of slots.read(slot)) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts).toString();
}

const stores: Array<[string, () => Promise<SlotStore>]> = [
  ['MemorySlotStore', async () => new MemorySlotStore({ initialVersion: '1.0.0' })],
  ['FileSlotStore', async () => FileSlotStore.open(await tempDir(), { initialVersion: '1.0.0' })],
];

describe.each(stores)('%s: A/B slots with one trial boot', (_name, open) => {
  it('starts on slot a, committed, with the factory version', async () => {
    const slots = await open();
    expect(await slots.boot()).toEqual({ booted: 'a', committed: 'a', versions: { a: '1.0.0' } });
  });

  it('writes, truncates to an offset and appends, and reports the size', async () => {
    const slots = await open();
    await write(slots, 'b', 'hello world');
    await write(slots, 'b', 'WORLD', 6);
    expect(await slots.size('b')).toBe(11);
    expect(await contents(slots, 'b')).toBe('hello WORLD');
    await slots.discard('b');
    expect(await slots.size('b')).toBe(0);
  });

  it('refuses to write, discard or mark the running, committed slot', async () => {
    const slots = await open();
    await expect(slots.openForWrite('a', 0)).rejects.toBeInstanceOf(SlotStateError);
    await expect(slots.discard('a')).rejects.toBeInstanceOf(SlotStateError);
    await expect(slots.markPending('a', '2.0.0')).rejects.toBeInstanceOf(SlotStateError);
  });

  it('pending → trial boot → commit: the new slot boots from then on', async () => {
    const slots = await open();
    await write(slots, 'b', 'v2');
    await slots.markPending('b', '2.0.0');
    expect(await slots.boot()).toEqual({
      booted: 'b',
      committed: 'a',
      pending: { slot: 'b', triesLeft: 0 },
      versions: { a: '1.0.0', b: '2.0.0' },
    });
    await slots.commit();
    expect(await slots.boot()).toEqual({ booted: 'b', committed: 'b', versions: { a: '1.0.0', b: '2.0.0' } });
  });

  it('pending → trial boot → no commit → the next boot is the committed slot again', async () => {
    const slots = await open();
    await write(slots, 'b', 'v2');
    await slots.markPending('b', '2.0.0');
    await slots.boot();
    expect((await slots.boot()).booted).toBe('a');
    expect((await slots.boot()).booted).toBe('a');
    await slots.rollback();
    expect((await slots.bootState()).pending).toBeUndefined();
  });

  it('rollback before the reboot cancels the trial', async () => {
    const slots = await open();
    await write(slots, 'b', 'v2');
    await slots.markPending('b', '2.0.0');
    await slots.rollback();
    expect((await slots.boot()).booted).toBe('a');
  });

  it('refuses to commit a slot that is not on its trial boot', async () => {
    const slots = await open();
    await write(slots, 'b', 'v2');
    await slots.markPending('b', '2.0.0');
    await expect(slots.commit()).rejects.toBeInstanceOf(SlotStateError);
  });

  it('on the trial boot, the old committed slot is still protected', async () => {
    const slots = await open();
    await write(slots, 'b', 'v2');
    await slots.markPending('b', '2.0.0');
    await slots.boot();
    await expect(slots.openForWrite('a', 0)).rejects.toBeInstanceOf(SlotStateError);
  });
});

describe('FileSlotStore on disk', () => {
  it('keeps slots and boot state across reopen (a reboot)', async () => {
    const dir = await tempDir();
    const first = await FileSlotStore.open(dir, { initialVersion: '1.0.0' });
    await write(first, 'b', 'image two');
    await first.markPending('b', '2.0.0');
    const second = await FileSlotStore.open(dir, { initialVersion: 'ignored' });
    expect(await second.boot()).toMatchObject({ booted: 'b', versions: { a: '1.0.0', b: '2.0.0' } });
    expect(await contents(second, 'b')).toBe('image two');
    expect(JSON.parse(await readFile(join(dir, 'boot.json'), 'utf8'))).toMatchObject({ booted: 'b' });
  });

  it('leaves no temporary files behind, and ignores one a power cut left', async () => {
    const dir = await tempDir();
    const slots = await FileSlotStore.open(dir, { initialVersion: '1.0.0' });
    await write(slots, 'b', 'x');
    await slots.markPending('b', '2.0.0');
    await writeFile(join(dir, '.boot.json.deadbeef.tmp'), '{"booted":');
    const reopened = await FileSlotStore.open(dir);
    expect((await reopened.bootState()).pending).toEqual({ slot: 'b', triesLeft: 1 });
    expect((await readdir(dir)).sort()).toEqual(['.boot.json.deadbeef.tmp', 'boot.json', 'slot-b.img']);
  });

  it('leaves boot.json alone on an ordinary power-on, and rewrites it when a trial boot spends its try', async () => {
    // Prepare: a device that has booted before. A hard link pins boot.json's inode: a replacement
    // (the atomic rename) gives boot.json another one, and the pinned one cannot be reused meanwhile.
    const dir = await tempDir();
    await (await FileSlotStore.open(dir, { initialVersion: '1.0.0' })).boot();
    const path = join(dir, 'boot.json');
    const replaced = async (pin: string) => (await stat(path)).ino !== (await stat(join(dir, pin))).ino;
    await link(path, join(dir, 'pin-1'));

    // Act: power on again with nothing pending, then with an update pending
    await (await FileSlotStore.open(dir)).boot();
    const plainBootReplaced = await replaced('pin-1');
    const slots = await FileSlotStore.open(dir);
    await write(slots, 'b', 'image two');
    await slots.markPending('b', '2.0.0');
    await link(path, join(dir, 'pin-2'));
    await (await FileSlotStore.open(dir)).boot();

    // Assess
    expect(plainBootReplaced).toBe(false);
    expect(await replaced('pin-2')).toBe(true);
    expect(JSON.parse(await readFile(path, 'utf8')).pending).toEqual({ slot: 'b', triesLeft: 0 });
  });

  it('refuses a boot.json that does not parse instead of guessing', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'boot.json'), '{"booted":"c"}');
    await expect(FileSlotStore.open(dir)).rejects.toThrow();
  });
});

describe('agent state stores', () => {
  it('FileAgentStateStore: idle when missing, round-trips, idle (and a callback) when corrupt', async () => {
    const dir = await tempDir();
    const corrupt: unknown[] = [];
    const store = new FileAgentStateStore(dir, (e) => corrupt.push(e));
    expect(await store.load()).toEqual({ phase: 'idle' });
    const state = {
      phase: 'reporting',
      jobId: 'j',
      versionNumber: 3,
      status: 'FAILED',
      statusDetails: { reason: 'size' },
    } as const;
    await store.save(state);
    expect(await store.load()).toEqual(state);
    expect(await readdir(dir)).toEqual(['ota-agent.json']);
    await writeFile(store.path, '{"phase":"downloading"');
    expect(await store.load()).toEqual({ phase: 'idle' });
    expect(corrupt).toHaveLength(1);
  });

  it('refuses to save a state that does not match the schema', async () => {
    const store = new MemoryAgentStateStore();
    await expect(store.save({ phase: 'nope' } as never)).rejects.toThrow();
  });
});
