import type { Reading } from '../../../lib/protocol/messages.ts';
import type { WindowScore } from './anomaly-detector.ts';

/** Scores windows: an `AnomalyDetector`, or something in front of one. */
export interface WindowScorer {
  score(windows: readonly (readonly Reading[])[]): Promise<WindowScore[]>;
}

interface Pending {
  readonly windows: readonly (readonly Reading[])[];
  readonly resolve: (scores: WindowScore[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Batches the windows many callers ask for into one `score` call: every request made before the
 * event loop's next check phase (one tick of a gateway scoring each sensor, or a simulated fleet
 * sharing one model) goes to the model in one `session.run`. Each caller gets its own scores, in its
 * order; a failed run fails the requests of that batch only.
 */
export class BatchingScorer implements WindowScorer {
  private pending: Pending[] = [];
  private scheduled = false;
  private batches = 0;
  private windows = 0;

  constructor(private readonly scorer: WindowScorer) {}

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
