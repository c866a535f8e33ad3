/**
 * The second line of exactly-once: readings a device sent again, recognised by `(device, seq)`.
 *
 * Kafka offsets (the first line, `batch.ts`) catch a record delivered again. They cannot catch a
 * device that publishes a batch again — it lost power after the broker took the batch but before the
 * PUBACK reached it, and its queue sends the batch once more on restart — since that copy is a new
 * record with a new offset. Its readings keep their `seq`, which the device hands out from a counter
 * that only rises over its life (`edge/src/uplink/sequence.ts`), so the processor drops a reading
 * whose seq it has applied before.
 *
 * The memory is bounded, whatever the device sends: per device the highest seq applied (`high`) and
 * a ring bitmap of the {@link SEQ_WINDOW} seqs at and below it, a bit set per seq applied — 64 bytes,
 * 88 characters of base64 in the device's state. Readings can arrive out of order across records (a
 * copy of a batch arrives after the batch that followed it), so the window, not `high` alone, says
 * what was applied. The judgement, for a reading with seq `s` taken at device time `ts`:
 *
 * - `ts` after every reading applied so far (the state's `lastReadingTs`): new, whatever `s` is. A
 *   repeat carries the time it had when it was applied, never a later one, so this can only be a new
 *   reading — it also keeps a device whose numbering went back (its counter and its clock both lost)
 *   from being dropped while it sends new data;
 * - `s` above `high`: new; `high` moves up to it, and the seqs it skipped are marked not applied;
 * - `s` within the window: a repeat if its bit is set, else new (a late arrival) and its bit is set;
 * - `s` below the window, with a `ts` no later than what was applied: taken for a repeat. A device
 *   sends one batch at a time (at most 1000 readings) and numbers readings in the order it sends them,
 *   so a new reading cannot fall this far behind; a copy of something older can (a queue sent again
 *   from its start). The bound is the price: a new reading more than {@link SEQ_WINDOW} seqs behind the
 *   newest, and older than the newest reading, is lost to the aggregates — counted, never silent.
 *
 * Readings without `seq` (it is optional in the JSON contract) are never taken for repeats.
 */

/** Seqs remembered below the highest one applied: a power of two, and a multiple of 32. */
export const SEQ_WINDOW = 512;

const WORDS = SEQ_WINDOW / 32;

/** What a device state keeps about seqs (plain JSON: a number and a base64 string). */
export interface SeqWindowState {
  /** Highest seq applied. */
  readonly high: number;
  /** {@link SEQ_WINDOW} bits, little-endian 32-bit words, base64: bit `s mod SEQ_WINDOW` set when `s` was applied. */
  readonly window: string;
}

/** The mutable form a state draft carries while a batch is processed. */
export interface SeqWindowDraft {
  high: number;
  readonly bits: Uint32Array;
}

/** How one reading was judged. */
export type SeqJudgement = 'new' | 'repeat';

/** The draft of a stored window (a copy: the stored one is not changed). */
export function seqWindowDraft(state: SeqWindowState): SeqWindowDraft {
  const bits = new Uint32Array(WORDS);
  const bytes = Buffer.from(state.window, 'base64');
  // A damaged window (never written so by this code) counts as empty: nothing below `high` is known.
  if (bytes.length === WORDS * 4) new Uint8Array(bits.buffer).set(bytes);
  return { high: state.high, bits };
}

/** The state form of a draft. */
export function seqWindowState(draft: SeqWindowDraft): SeqWindowState {
  const { buffer, byteOffset, byteLength } = draft.bits;
  return { high: draft.high, window: Buffer.from(buffer, byteOffset, byteLength).toString('base64') };
}

const bitOf = (seq: number) => seq % SEQ_WINDOW;

function isSet(bits: Uint32Array, seq: number): boolean {
  const bit = bitOf(seq);
  return (((bits[bit >>> 5] as number) >>> (bit & 31)) & 1) === 1;
}

function set(bits: Uint32Array, seq: number): void {
  const bit = bitOf(seq);
  bits[bit >>> 5] = (bits[bit >>> 5] as number) | (1 << (bit & 31));
}

function clear(bits: Uint32Array, seq: number): void {
  const bit = bitOf(seq);
  bits[bit >>> 5] = (bits[bit >>> 5] as number) & ~(1 << (bit & 31));
}

/** Moves `high` up to `seq`: the seqs between are not applied (yet), `seq` is. */
function advance(window: SeqWindowDraft, seq: number): void {
  if (seq - window.high >= SEQ_WINDOW) window.bits.fill(0);
  else for (let s = window.high + 1; s < seq; s++) clear(window.bits, s);
  set(window.bits, seq);
  window.high = seq;
}

/**
 * Judges one reading and, when it is new, records its seq.
 *
 * @param window the device's window, or undefined when none was kept yet (the caller stores the one
 *   returned by {@link startSeqWindow} then)
 * @param lastReadingTs the newest reading time applied for the device, if any
 */
export function judgeSeq(
  window: SeqWindowDraft,
  seq: number,
  ts: number,
  lastReadingTs: number | undefined,
): SeqJudgement {
  const high = window.high;
  if (seq > high) {
    advance(window, seq);
    return 'new';
  }
  const newer = lastReadingTs === undefined || ts > lastReadingTs;
  if (high - seq < SEQ_WINDOW) {
    if (isSet(window.bits, seq) && !newer) return 'repeat';
    set(window.bits, seq);
    return 'new';
  }
  return newer ? 'new' : 'repeat';
}

/** The window of a device whose first numbered reading is `seq`. */
export function startSeqWindow(seq: number): SeqWindowDraft {
  const window: SeqWindowDraft = { high: seq, bits: new Uint32Array(WORDS) };
  set(window.bits, seq);
  return window;
}
