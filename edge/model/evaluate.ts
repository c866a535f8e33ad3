import { ANOMALY_KINDS, type AnomalyKind, type LabelledWindow } from './dataset.ts';

/** How a model's scores on labelled windows compare with the injected anomalies. */
export interface Evaluation {
  readonly windows: number;
  readonly anomalies: number;
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly falseNegatives: number;
  /** Of the windows flagged, the share that had an anomaly. Depends on the anomaly rate of the set. */
  readonly precision: number;
  /** Of the windows with an anomaly, the share flagged. */
  readonly recall: number;
  readonly f1: number;
  /** Of the normal windows, the share flagged: independent of how common anomalies are. */
  readonly falsePositiveRate: number;
  /** Recall per kind of injected fault. */
  readonly recallByKind: Readonly<Record<AnomalyKind, number>>;
}

/** Scores at or above `threshold` count as flagged. */
export function evaluate(
  windows: readonly LabelledWindow[],
  scores: ArrayLike<number>,
  threshold: number,
): Evaluation {
  if (scores.length !== windows.length)
    throw new RangeError(`${windows.length} windows but ${scores.length} scores`);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let normals = 0;
  const seen = Object.fromEntries(ANOMALY_KINDS.map((k) => [k, 0])) as Record<AnomalyKind, number>;
  const caught = { ...seen };
  windows.forEach((w, i) => {
    const flagged = (scores[i] ?? 0) >= threshold;
    if (w.anomaly === undefined) {
      normals++;
      if (flagged) fp++;
      return;
    }
    seen[w.anomaly.kind]++;
    if (flagged) {
      tp++;
      caught[w.anomaly.kind]++;
    } else fn++;
  });
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return {
    windows: windows.length,
    anomalies: tp + fn,
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    precision,
    recall,
    f1: ratio(2 * precision * recall, precision + recall),
    falsePositiveRate: ratio(fp, normals),
    recallByKind: Object.fromEntries(ANOMALY_KINDS.map((k) => [k, ratio(caught[k], seen[k])])) as Record<
      AnomalyKind,
      number
    >,
  };
}
