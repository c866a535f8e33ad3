import type { Reading } from '../../../lib/protocol/messages.ts';
import type { WindowScore } from './anomaly-detector.ts';

/** Scores windows: an `AnomalyDetector`, or something in front of one. */
export interface WindowScorer {
  score(windows: readonly (readonly Reading[])[]): Promise<WindowScore[]>;
}

/**
 * Scores feature rows (`extractFeatures`' layout), for a caller that keeps its features up to date
 * itself (`FeatureWindow`): the agent's path, one reading at a time.
 */
export interface FeatureScorer {
  scoreFeatures(features: Float32Array, rows: number): Promise<Float32Array>;
  /** The sampling intervals (s) the model was trained for: windows outside it are not scored. */
  readonly intervalRange: { readonly min: number; readonly max: number };
}

interface Pending {
  readonly windows: readonly (readonly Reading[])[];
  readonly resolve: (scores: WindowScore[]) => void;
  readonly reject: (error: unknown) => void;
}

interface PendingRows {
  readonly features: Float32Array;
  readonly rows: number;
  readonly resolve: (scores: Float32Array) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Batches the windows many callers ask for into one `score` call: every request made before the
 * event loop's next check phase (one tick of a gateway scoring each sensor, or a simulated fleet
 * sharing one model) goes to the model in one `session.run`. Each caller gets its own scores, in its
 * order; a failed run fails the requests of that batch only.
 */
export class BatchingScorer implements WindowScorer, FeatureScorer {
  private pending: Pending[] = [];
  private pendingRows: PendingRows[] = [];
  private scheduled = false;
  private rowsScheduled = false;
  private batches = 0;
  private windows = 0;

  constructor(private readonly scorer: WindowScorer & Partial<FeatureScorer>) {}

  get intervalRange(): { readonly min: number; readonly max: number } {
    return this.scorer.intervalRange ?? { min: 0, max: Number.POSITIVE_INFINITY };
  }

  /** Feature rows asked for in one tick go to the model in one run, like {@link score}'s windows. */
  scoreFeatures(features: Float32Array, rows: number): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.pendingRows.push({ features, rows, resolve, reject });
      if (!this.rowsScheduled) {
        this.rowsScheduled = true;
        setImmediate(() => void this.flushRows());
      }
    });
  }

  private async flushRows(): Promise<void> {
    const batch = this.pendingRows;
    this.pendingRows = [];
    this.rowsScheduled = false;
    const rows = batch.reduce((n, p) => n + p.rows, 0);
    const width = rows === 0 ? 0 : (batch[0]?.features.length ?? 0) / (batch[0]?.rows ?? 1);
    const all = new Float32Array(rows * width);
    let at = 0;
    for (const p of batch) {
      all.set(p.features, at * width);
      at += p.rows;
    }
    this.batches++;
    this.windows += rows;
    try {
      if (this.scorer.scoreFeatures === undefined) throw new Error('the model does not score feature rows');
      const scores = await this.scorer.scoreFeatures(all, rows);
      let offset = 0;
      for (const p of batch) {
        p.resolve(scores.slice(offset, offset + p.rows));
        offset += p.rows;
      }
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }

  score(windows: readonly (readonly Reading[])[]): Promise<WindowScore[]> {
    if (windows.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.pending.push({ windows, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Runs so far and windows scored: windows ÷ batches is the batch size the model saw on average. */
  metrics(): { readonly batches: number; readonly windows: number } {
    return { batches: this.batches, windows: this.windows };
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    const all = batch.flatMap((p) => p.windows);
    this.batches++;
    this.windows += all.length;
    try {
      const scores = await this.scorer.score(all);
      let offset = 0;
      for (const p of batch) {
        p.resolve(scores.slice(offset, offset + p.windows.length));
        offset += p.windows.length;
      }
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
