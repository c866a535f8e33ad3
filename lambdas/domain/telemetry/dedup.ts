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
 * the gaps — seqs not applied — among the {@link SEQ_WINDOW} seqs at and below it, as at most
 * {@link MAX_SEQ_GAPS} ranges. A device numbers its readings one by one and sends them in order, so
 * the gaps are almost always none (a number, `high`, is the whole state) or one (the numbers a restart
 * skipped). Readings can arrive out of order across records (a copy of a batch arrives after the
 * batch that followed it, a batch arrives after a later one), so the window, not `high` alone, says
 * what was applied. The judgement, for a reading with seq `s` taken at device time `ts`:
 *
 * - `ts` after every reading applied so far (the state's `lastReadingTs`): new, whatever `s` is. A
 *   repeat carries the time it had when it was applied, never a later one, so this can only be a new
 *   reading — it also keeps a device whose numbering went back (its counter and its clock both lost)
 *   from being dropped while it sends new data;
 * - `s` above `high`: new; `high` moves up to it, and the seqs it skipped are a gap;
 * - `s` within the window: new if it is in a gap (a late arrival; the gap shrinks), else a repeat;
 * - `s` below the window, with a `ts` no later than what was applied: taken for a repeat. A device
 *   sends one batch at a time (at most 1000 readings) and numbers readings in the order it sends them,
 *   so a new reading cannot fall this far behind; a copy of something older can (a queue sent again
 *   from its start). The bound is the price: a new reading more than {@link SEQ_WINDOW} seqs behind the
 *   newest, and older than the newest reading, is lost to the aggregates — counted, never silent. So is
 *   one in the oldest gap when more than {@link MAX_SEQ_GAPS} are open (that gap is forgotten).
 *
 * Readings without `seq` (it is optional in the JSON contract) are never taken for repeats.
 */

/** Seqs remembered below the highest one applied. */
export const SEQ_WINDOW = 512;

/** Most gaps remembered in the window; beyond it, the oldest is forgotten (its seqs count as applied). */
export const MAX_SEQ_GAPS = 16;

/** What a device state keeps about seqs (plain JSON). */
export interface SeqWindowState {
  /** Highest seq applied. */
  readonly high: number;
  /** Seqs not applied within the window below `high`, as `[from, to]` ranges, oldest first; absent when none. */
  readonly gaps?: readonly (readonly [number, number])[];
}

/** The mutable form a state draft carries while a batch is processed. */
export interface SeqWindowDraft {
  high: number;
  gaps: [number, number][];
}

/** How one reading was judged. */
export type SeqJudgement = 'new' | 'repeat';

/** The draft of a stored window (a copy: the stored one is not changed). */
export function seqWindowDraft(state: SeqWindowState): SeqWindowDraft {
  return {
    high: state.high,
    gaps: state.gaps === undefined ? [] : state.gaps.map(([from, to]) => [from, to]),
  };
}

/** The state form of a draft. */
export function seqWindowState(draft: SeqWindowDraft): SeqWindowState {
  return draft.gaps.length === 0 ? { high: draft.high } : { high: draft.high, gaps: draft.gaps };
}

/** Moves `high` up to `seq`: the seqs between become a gap; gaps that fell out of the window go. */
function advance(window: SeqWindowDraft, seq: number): void {
  const floor = seq - SEQ_WINDOW + 1;
  const skipped: [number, number] = [Math.max(window.high + 1, floor), seq - 1];
  window.high = seq;
  const gaps = window.gaps;
  if (skipped[0] <= skipped[1]) gaps.push(skipped);
  while (gaps.length > 0 && ((gaps[0] as [number, number])[1] < floor || gaps.length > MAX_SEQ_GAPS))
    gaps.shift();
  const oldest = gaps[0];
  if (oldest !== undefined && oldest[0] < floor) oldest[0] = floor;
}

/** Marks `seq`, inside gap `g`, applied. */
function fill(window: SeqWindowDraft, g: number, seq: number): void {
  const gaps = window.gaps;
  const [from, to] = gaps[g] as [number, number];
  if (from === to) gaps.splice(g, 1);
  else if (seq === from) (gaps[g] as [number, number])[0] = from + 1;
  else if (seq === to) (gaps[g] as [number, number])[1] = to - 1;
  else {
    gaps.splice(g, 1, [from, seq - 1], [seq + 1, to]);
    if (gaps.length > MAX_SEQ_GAPS) gaps.shift();
  }
}

/**
 * Judges one reading and, when it is new, records its seq.
 *
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
    // The common case, a device's next reading, touches nothing but `high`.
    if (seq === high + 1 && window.gaps.length === 0) window.high = seq;
    else advance(window, seq);
    return 'new';
  }
  const newer = lastReadingTs === undefined || ts > lastReadingTs;
  if (high - seq < SEQ_WINDOW) {
    const g = window.gaps.findIndex(([from, to]) => from <= seq && seq <= to);
    if (g < 0) return newer ? 'new' : 'repeat';
    fill(window, g, seq);
    return 'new';
  }
  return newer ? 'new' : 'repeat';
}

/** The window of a device whose first numbered reading is `seq`. */
export function startSeqWindow(seq: number): SeqWindowDraft {
  return { high: seq, gaps: [] };
}
