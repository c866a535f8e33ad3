import { describe, expect, it } from 'vitest';
import { RolloutRefusedError } from '../../../lambdas/domain/rollout/errors.ts';
import { planRollout } from '../../../lambdas/domain/rollout/plan.ts';
import { selectTargets } from '../../../lambdas/domain/rollout/targets.ts';
import type { DeviceRecord, Page } from '../../../lambdas/ports.ts';
import { previewRollout, rolloutDeviceOf } from '../../../lambdas/services/rollout-preview.ts';
import type { RolloutRequest } from '../../../lib/protocol/rollouts.ts';

const NOW = 1_764_196_408_000;
const IMAGE = { version: '1.1.0', deviceTypes: ['tracker'], purpose: 'firmware' as const };

/** A registry of `n` trackers on 1.0.0, scanned in pages; records how many items each Scan asked for. */
function registry(n: number) {
  const records: DeviceRecord[] = Array.from({ length: n }, (_, i) => ({
    deviceId: `t-${String(i).padStart(5, '0')}`,
    deviceType: 'tracker',
    firmwareVersion: '1.0.0',
  }));
  const asked: number[] = [];
  return {
    records,
    asked,
    async scan(limit: number, nextToken?: string): Promise<Page<DeviceRecord>> {
      asked.push(limit);
      const from = nextToken === undefined ? 0 : Number(nextToken);
      const to = Math.min(records.length, from + limit);
      return { items: records.slice(from, to), ...(to < records.length ? { nextToken: String(to) } : {}) };
    },
  };
}

const request = (extra: Partial<RolloutRequest> = {}): RolloutRequest =>
  ({
    rolloutId: 'r1',
    firmwareVersion: '1.1.0',
    targets: { deviceTypes: ['tracker'] },
    waves: { sizes: [10, 100] },
    ...extra,
  }) as RolloutRequest;

describe('POST /rollouts/preview: the plan, stored nowhere, from the whole registry (capped)', () => {
  it('gives the wave sizes planRollout makes over the whole registry, read page by page', async () => {
    // Prepare
    const reg = registry(2_500);
    // Act
    const preview = await previewRollout({ registry: reg }, request(), IMAGE, NOW);
    // Assess
    const all = selectTargets(reg.records.map(rolloutDeviceOf), request().targets, IMAGE);
    const plan = planRollout(request(), all.eligible, NOW);
    expect(preview).toMatchObject({ targeted: 2_500, eligible: 2_500, control: 0 });
    expect(preview.waves.map((w) => w.planned)).toEqual(plan.waveSizes);
    expect(reg.asked).toEqual([1000, 1000, 1000]);
  });

  it('is refused with PreviewTooLarge (422) past its cap, having read no more than the cap and one item', async () => {
    // Prepare
    const reg = registry(2_500);
    // Act
    const refusal = await previewRollout({ registry: reg, maxDevices: 1_200 }, request(), IMAGE, NOW).catch(
      (error: unknown) => error,
    );
    // Assess
    expect(refusal).toBeInstanceOf(RolloutRefusedError);
    expect(refusal).toMatchObject({ code: 'PreviewTooLarge', status: 422, details: { maxDevices: 1_200 } });
    expect((refusal as Error).message).toMatch(/create the rollout instead/);
    expect(reg.asked).toEqual([1000, 201]);
  });

  it('answers a registry of exactly the cap', async () => {
    const preview = await previewRollout(
      { registry: registry(1_200), maxDevices: 1_200 },
      request(),
      IMAGE,
      NOW,
    );
    expect(preview.eligible).toBe(1_200);
  });

  it('refuses as planning would end: nothing eligible, or a gate with no control cohort', async () => {
    // Act
    const none = await previewRollout(
      { registry: registry(3) },
      request({ targets: { deviceTypes: ['env-sensor'] } } as Partial<RolloutRequest>),
      IMAGE,
      NOW,
    ).catch((error: unknown) => error);
    const gate = await previewRollout(
      { registry: registry(3) },
      request({
        healthGate: {
          metric: 'anomalyRate',
          maxWorsening: { relative: 0.2 },
          windowMinutes: 60,
          controlPercentage: 5,
        },
      } as Partial<RolloutRequest>),
      IMAGE,
      NOW,
    ).catch((error: unknown) => error);
    // Assess
    expect(none).toMatchObject({ code: 'NoEligibleDevices' });
    expect(gate).toMatchObject({ code: 'NoControlCohort' });
  });
});
