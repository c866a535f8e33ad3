import { describe, expect, it } from 'vitest';
import {
  judgeSeq,
  MAX_SEQ_GAPS,
  SEQ_WINDOW,
  type SeqJudgement,
  seqWindowDraft,
  seqWindowState,
  startSeqWindow,
} from '../../../../lambdas/domain/telemetry/dedup.ts';

/** A window that applied `seqs` (ascending), in that order. */
function applied(seqs: readonly number[]) {
  const [first, ...rest] = seqs;
  const window = startSeqWindow(first ?? 0);
  for (const seq of rest) judgeSeq(window, seq, seq, undefined);
  return window;
}

const HIGH = 10_000;
/** Seqs 9,990…10,000 applied but 9,995 (a gap: a reading that has not arrived yet); newest ts 10,000. */
const gapped = () => applied([...Array.from({ length: 11 }, (_, i) => 9_990 + i)].filter((s) => s !== 9_995));

describe('judgeSeq', () => {
  it.each<[string, number, number, SeqJudgement]>([
    ['the next seq: new', HIGH + 1, HIGH + 1, 'new'],
    ['a jump forward (a restart took the clock as its floor): new', HIGH + 3_600_000, HIGH + 5, 'new'],
    ['the newest seq again, same time: a repeat', HIGH, HIGH, 'repeat'],
    ['an applied seq inside the window: a repeat', 9_991, 9_991, 'repeat'],
    ['the gap inside the window, arriving late: new', 9_995, 9_995, 'new'],
    ['at the bottom edge of the window, applied: a repeat', HIGH - SEQ_WINDOW + 1, 1, 'repeat'],
    ['below the window and not newer than what was applied: a repeat', HIGH - SEQ_WINDOW, 1, 'repeat'],
    ['below the window but newer than every applied reading (numbering restarted): new', 3, HIGH + 1, 'new'],
    ['an applied seq with a newer time (numbering restarted): new', 9_991, HIGH + 1, 'new'],
  ])('%s', (_rule, seq, ts, expected) => {
    // Prepare: every seq from 9,489 to 10,000 applied but 9,995
    const window = applied(
      Array.from({ length: SEQ_WINDOW }, (_, i) => HIGH - SEQ_WINDOW + 1 + i).filter((s) => s !== 9_995),
    );

    // Act
    const judged = judgeSeq(window, seq, ts, HIGH);

    // Assess
    expect(judged).toBe(expected);
  });

  it('remembers a late arrival, so its copy is a repeat', () => {
    // Prepare
    const window = gapped();

    // Act
    const first = judgeSeq(window, 9_995, 9_995, HIGH);
    const copy = judgeSeq(window, 9_995, 9_995, HIGH);

    // Assess
    expect([first, copy]).toEqual(['new', 'repeat']);
  });

  it('keeps a device that sends in order down to one number', () => {
    // Act
    const window = applied(Array.from({ length: 2_000 }, (_, i) => 70 + i));

    // Assess
    expect(seqWindowState(window)).toEqual({ high: 2_069 });
  });

  it(`remembers at most ${MAX_SEQ_GAPS} gaps: the oldest is forgotten, and its late arrival taken for a repeat`, () => {
    // Prepare: every other seq from 0 to 40 applied, 20 gaps of one
    const window = applied(Array.from({ length: 21 }, (_, i) => i * 2));

    // Act
    const oldest = judgeSeq(window, 1, 1, 40);
    const newest = judgeSeq(window, 39, 39, 40);

    // Assess
    expect(seqWindowState(window).gaps).toHaveLength(MAX_SEQ_GAPS - 1);
    expect([oldest, newest]).toEqual(['repeat', 'new']);
  });

  it('forgets the seqs a forward jump skipped: they are gaps, not applied', () => {
    // Prepare: 0…9 applied, then a jump past the window: 512…521 are not applied
    const window = applied(Array.from({ length: 10 }, (_, i) => i));
    judgeSeq(window, SEQ_WINDOW + 100, SEQ_WINDOW + 100, 9);

    // Act: seqs in the new window that share a bit with applied old ones
    const judged = [SEQ_WINDOW + 1, SEQ_WINDOW + 5].map((seq) =>
      judgeSeq(window, seq, seq, SEQ_WINDOW + 100),
    );

    // Assess
    expect(judged).toEqual(['new', 'new']);
  });

  it('keeps its judgement through the state form (JSON) and back', () => {
    // Prepare
    const window = gapped();

    // Act
    const restored = seqWindowDraft(JSON.parse(JSON.stringify(seqWindowState(window))));

    // Assess
    expect([judgeSeq(restored, 9_994, 1, HIGH), judgeSeq(restored, 9_995, 1, HIGH)]).toEqual([
      'repeat',
      'new',
    ]);
    expect(seqWindowState(window)).toEqual({ high: HIGH, gaps: [[9_995, 9_995]] });
  });
});
