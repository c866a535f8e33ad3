import {
  assertWritable,
  bootTransition,
  commitTransition,
  initialBootState,
  markPendingTransition,
  rollbackTransition,
} from './boot-state.ts';
import type { BootState, SlotName, SlotStore, SlotWriter } from './ports.ts';

interface MemorySlot {
  data: Buffer;
  /** Bytes that a writer has closed (fsynced); a power cut loses the rest. */
  durable: number;
}

/**
 * Slots in memory, for tests. It outlives agents, like a disk: give the same store to the agent
 * started after a simulated restart. {@link MemorySlotStore.powerCut} drops what was written but
 * not yet made durable, as a real power cut may.
 */
export class MemorySlotStore implements SlotStore {
  private state: BootState;
  private readonly slots: Record<SlotName, MemorySlot> = {
    a: { data: Buffer.alloc(0), durable: 0 },
    b: { data: Buffer.alloc(0), durable: 0 },
  };

  constructor(options: { initialVersion?: string; initialImage?: Uint8Array } = {}) {
    this.state = initialBootState(options.initialVersion);
    const image = Buffer.from(options.initialImage ?? new Uint8Array());
    this.slots.a = { data: image, durable: image.length };
  }

  async bootState(): Promise<BootState> {
    return this.state;
  }

  async boot(): Promise<BootState> {
    this.state = bootTransition(this.state);
    return this.state;
  }

  async size(slot: SlotName): Promise<number> {
    return this.slots[slot].data.length;
  }

  async openForWrite(slot: SlotName, offset: number): Promise<SlotWriter> {
    assertWritable(this.state, slot);
    const target = this.slots[slot];
    target.data = Buffer.from(target.data.subarray(0, Math.min(offset, target.data.length)));
    target.durable = Math.min(target.durable, target.data.length);
    return {
      write: async (bytes) => {
        assertWritable(this.state, slot);
        target.data = Buffer.concat([target.data, bytes]);
      },
      close: async () => {
        target.durable = target.data.length;
      },
    };
  }

  async *read(slot: SlotName): AsyncIterable<Uint8Array> {
    const data = this.slots[slot].data;
    for (let offset = 0; offset < data.length; offset += 64 * 1024)
      yield data.subarray(offset, offset + 64 * 1024);
  }

  async discard(slot: SlotName): Promise<void> {
    assertWritable(this.state, slot);
    this.slots[slot] = { data: Buffer.alloc(0), durable: 0 };
  }

  async markPending(slot: SlotName, version: string): Promise<void> {
    this.state = markPendingTransition(this.state, slot, version);
  }

  async commit(): Promise<void> {
    this.state = commitTransition(this.state);
  }

  async rollback(): Promise<void> {
    this.state = rollbackTransition(this.state);
  }

  /** A power cut: bytes written but not yet made durable are gone. */
  powerCut(): void {
    for (const slot of Object.values(this.slots))
      slot.data = Buffer.from(slot.data.subarray(0, slot.durable));
  }

  /** The contents of a slot, for assertions. */
  contents(slot: SlotName): Buffer {
    return Buffer.from(this.slots[slot].data);
  }
}
