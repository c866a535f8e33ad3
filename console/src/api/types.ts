/**
 * The API's answers, as far as the console reads them. Where the cloud side has the type, it is imported
 * from there (types only: nothing of it is bundled), so the page and the API cannot drift apart.
 */
import type { FleetHealthView } from '../../../lambdas/domain/fleet/health.ts';
import type { HealthVerdict } from '../../../lambdas/domain/rollout/health-gate.ts';
import type { PlanningRecord } from '../../../lambdas/domain/rollout/planning.ts';
import type { PlanningProgress } from '../../../lambdas/services/rollout-service.ts';

export type { GroupHealth } from '../../../lambdas/domain/fleet/health.ts';
export type { TelemetryAlert as Alert } from '../../../lambdas/domain/telemetry/alerts.ts';

/** `GET /fleet/health`: the view and when it was read. */
export interface FleetHealth extends FleetHealthView {
  readonly at: string;
}

export interface Device {
  readonly deviceId: string;
  readonly deviceType: string;
  readonly online?: boolean;
  readonly lastSeen?: string;
  readonly firstSeen?: string;
  readonly firmwareVersion?: string;
  readonly modelVersion?: string;
  readonly battery?: { readonly percent?: number; readonly voltage?: number };
  readonly signal?: { readonly rsrp?: number; readonly rsrq?: number; readonly rat?: string };
  readonly groups?: readonly string[];
  readonly attributes?: Readonly<Record<string, string>>;
  readonly uptimeSeconds?: number;
  readonly tlsVersion?: string;
  readonly certificateId?: string;
}

export interface Shadow {
  readonly state?: {
    readonly desired?: Record<string, unknown>;
    readonly reported?: Record<string, unknown>;
    readonly delta?: Record<string, unknown>;
  };
  readonly version?: number;
  readonly timestamp?: number;
}

export interface MetricAggregate {
  readonly min: number;
  readonly max: number;
  readonly mean?: number;
  readonly sum?: number;
  readonly count: number;
}

export interface AggregateWindow {
  readonly start: number;
  readonly metrics: Readonly<Record<string, MetricAggregate>>;
}

export interface Firmware {
  readonly version: string;
  readonly deviceTypes: readonly string[];
  readonly status: string;
  readonly size?: number;
  readonly sha256?: string;
  readonly releaseNotes?: string;
  readonly createdAt?: string | number;
  readonly keyId?: string;
}

export interface RolloutWave {
  readonly wave: number;
  readonly control?: boolean;
  readonly planned: number;
  readonly notified: number;
  readonly byStatus?: Readonly<Record<string, number>>;
  readonly succeededPercent: number;
  readonly failedPercent: number;
}

/** The health gate's last verdict on a rollout, and when (epoch seconds). */
export type RolloutHealth = HealthVerdict & { readonly checkedAt: number; readonly sampled: number };

/** A rollout's planning (`POST /rollouts` answers PLANNING; the planner selects its devices). */
export type RolloutPlanning = Pick<PlanningRecord, 'startedAt' | 'pilotFrom' | 'finishedAt' | 'error'> & {
  readonly progress?: PlanningProgress;
};

export interface Rollout {
  readonly rolloutId: string;
  readonly status: string;
  readonly planning?: RolloutPlanning;
  readonly description?: string;
  readonly statusReason?: string;
  readonly currentWave?: number;
  readonly waves: readonly RolloutWave[];
  readonly progress?: { readonly total?: number; readonly byStatus?: Readonly<Record<string, number>> };
  readonly selection?: {
    readonly targeted: number;
    readonly eligible: number;
    readonly control: number;
    readonly skipped: Readonly<Record<string, number>>;
  };
  readonly health?: RolloutHealth;
  readonly waitingOnHealth?: string;
  readonly waitingOnPacing?: Readonly<Record<string, number>>;
  readonly request?: {
    readonly firmwareVersion: string;
    readonly description?: string;
    readonly healthGate?: { readonly metric: string };
  };
  readonly createdAt?: number | string;
}

export interface RolloutPreview {
  readonly targeted: number;
  readonly eligible: number;
  readonly control: number;
  readonly skipped: Readonly<Record<string, number>>;
  readonly waves: ReadonlyArray<{
    readonly wave: number;
    readonly planned: number;
    readonly control?: boolean;
  }>;
}
