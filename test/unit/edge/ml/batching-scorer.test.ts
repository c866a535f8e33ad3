import { describe, expect, it } from 'vitest';
import type { WindowScore } from '../../../../edge/src/ml/anomaly-detector.ts';
import { BatchingScorer, type WindowScorer } from '../../../../edge/src/ml/batching-scorer.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';

/** A window whose one reading carries its id, and a model that scores it with the id / 100. */
const windowOf = (id: number): Reading[] => [{ ts: 1, values: { id } }];
function recordingModel(fail = false) {
  const calls: number[][] = [];
  const model: WindowScorer = {
    score: async (windows) => {
      calls.push(windows.map((w) => w[0]?.values.id ?? -1));
      if (fail) throw new Error('session.run failed');
      return windows.map(
        (w): WindowScore => ({ ok: true, score: (w[0]?.values.id ?? 0) / 100, anomalous: false }),
      );
    },
  };
  return { calls, model };
}

describe('BatchingScorer', () => {
  it('sends the requests of one tick to the model in one call, and gives each caller its own scores', async () => {
    // Arrange
    const { calls, model } = recordingModel();
    const scorer = new BatchingScorer(model);

    // Act
    const [a, b, c] = await Promise.all([
      scorer.score([windowOf(1)]),
      scorer.score([windowOf(2), windowOf(3)]),
      scorer.score([windowOf(4)]),
    ]);
    const later = await scorer.score([windowOf(5)]);

    // Assess
    expect(calls).toEqual([[1, 2, 3, 4], [5]]);
    expect(a?.map((s) => s.ok && s.score)).toEqual([0.01]);
    expect(b?.map((s) => s.ok && s.score)).toEqual([0.02, 0.03]);
    expect(c?.map((s) => s.ok && s.score)).toEqual([0.04]);
    expect(later.map((s) => s.ok && s.score)).toEqual([0.05]);
    expect(scorer.metrics()).toEqual({ batches: 2, windows: 5 });
  });

  it('fails every request of a batch whose run fails, and serves the next batch', async () => {
    // Arrange
    const failing = recordingModel(true);
    const scorer = new BatchingScorer(failing.model);

    // Act
    const results = await Promise.allSettled([scorer.score([windowOf(1)]), scorer.score([windowOf(2)])]);

    // Assess
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(failing.calls).toEqual([[1, 2]]);
  });

  it('sends the feature rows of one tick to the model in one run, each caller getting its rows’ scores', async () => {
    // Arrange: rows of width 2 whose first value is the row's id; the model scores id / 100
    const runs: number[][] = [];
    const model = {
      ...recordingModel().model,
      intervalRange: { min: 5, max: 60 },
      scoreFeatures: async (features: Float32Array, rows: number) => {
        const ids = Array.from({ length: rows }, (_, r) => features[r * 2] as number);
        runs.push(ids);
        return Float32Array.from(ids, (id) => id / 100);
      },
    };
    const scorer = new BatchingScorer(model);

    // Act
    const [a, b] = await Promise.all([
      scorer.scoreFeatures(Float32Array.of(1, 0), 1),
      scorer.scoreFeatures(Float32Array.of(2, 0, 3, 0), 2),
    ]);

    // Assess
    expect(runs).toEqual([[1, 2, 3]]);
    expect([...(a ?? [])]).toEqual([Math.fround(0.01)]);
    expect([...(b ?? [])]).toEqual([Math.fround(0.02), Math.fround(0.03)]);
    expect(scorer.intervalRange).toEqual({ min: 5, max: 60 });
  });
});
