import { seededRandom } from '../edge/src/sensors/random.ts';
import { planRollout } from '../lambdas/domain/rollout/plan.ts';
import { type RolloutDevice, selectTargets } from '../lambdas/domain/rollout/targets.ts';
import { parseRolloutRequest, rolloutArtifact } from '../lib/protocol/rollouts.ts';
import { median, metric, progress } from './support.ts';

/**
 * Planning a rollout over a million-device registry: select the targets (selectors, image rules,
 * cohort hash, percentage), then order them by cohort, hold back the control cohort and cut the waves.
 *
 * rollout_plan_1m_ms = median time of selectTargets + planRollout for 1,000,000 registry records of
 * mixed types, versions, hardware revisions, RSRP and battery, with a rollout that keeps about a sixth.
 * rollout_plan_1m_all_ms = the same when every device is eligible: the cohort sort at full size.
 */
const DEVICES = 1_000_000;
const ROUNDS = 7;
const random = seededRandom('rollout-plan-bench');
const TYPES = ['tracker', 'env-sensor', 'gateway'] as const;
const VERSIONS = ['1.2.0', '1.3.0', '1.4.2', '1.4.3-rc.1', '1.5.0', '2.0.0-beta.2'] as const;
const GROUPS = ['eu-west', 'eu-north', 'us-east', 'ap-south'] as const;
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

const fleet: RolloutDevice[] = Array.from({ length: DEVICES }, (_, i) => {
  const deviceType = pick(TYPES);
  return {
    thingName: `${deviceType}-${i.toString(36).padStart(5, '0')}`,
    deviceType,
    firmwareVersion: pick(VERSIONS),
    groups: [pick(GROUPS)],
    attributes: { hwRevision: pick(['B', 'C', 'D']) },
    rsrp: Math.round(-70 - random() * 60),
    batteryPercent: Math.round(random() * 100),
  };
});

const mixed = parseRolloutRequest({
  firmwareVersion: '1.5.0',
  minVersion: '1.3.0',
  targets: {
    deviceTypes: ['tracker', 'env-sensor'],
    attributes: [{ attribute: 'hwRevision', op: 'in', value: ['C', 'D'] }],
    percentage: 80,
  },
  waves: { sizes: [1, 10, 50, 100], maximumPerMinute: 1000, gate: { successPercentage: 95 } },
  pacing: { minRsrpDbm: -115, minBatteryPercent: 20 },
  healthGate: {
    metric: 'rebootRate',
    maxWorsening: { relative: 0.2 },
    windowMinutes: 1440,
    controlPercentage: 5,
  },
});
const everyone = parseRolloutRequest({
  firmwareVersion: '3.0.0',
  targets: { percentage: 100 },
  waves: { sizes: [1, 10, 50, 100] },
  healthGate: {
    metric: 'rebootRate',
    maxWorsening: { relative: 0.2 },
    windowMinutes: 1440,
    controlPercentage: 5,
  },
});
const NOW = Date.UTC(2026, 2, 2, 10);

function plan(request: typeof mixed): { ms: number; eligible: number; firstWave: number } {
  const start = performance.now();
  const selection = selectTargets(fleet, request.targets, {
    version: rolloutArtifact(request).version,
    ...(request.minVersion === undefined ? {} : { minVersion: request.minVersion }),
  });
  const result = planRollout(request, selection.eligible, NOW);
  const ms = performance.now() - start;
  return { ms, eligible: selection.eligible.length, firstWave: result.waves[0]?.things.length ?? 0 };
}

for (const [name, request] of [
  ['rollout_plan_1m_ms', mixed],
  ['rollout_plan_1m_all_ms', everyone],
] as const) {
  const warm = plan(request);
  progress(`${name}: ${warm.eligible} of ${DEVICES} eligible, first wave ${warm.firstWave}`);
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) times.push(plan(request).ms);
  metric(name, median(times));
}
