import { type CommandCatalog, checkCommand } from '../../../lib/protocol/command-catalog.ts';
import type { FieldIssue } from '../../../lib/protocol/errors.ts';
import type { RolloutTargets } from '../../../lib/protocol/rollouts.ts';
import { type RolloutDevice, targetFilter } from '../rollout/targets.ts';

/**
 * A fleet command (`POST /commands`): one command for every device the rollouts' targeting selects,
 * created at once (one execution each, so its progress counts from the start) and sent at most
 * `ratePerMinute` a minute, so that ten thousand answers do not arrive in the same second.
 */

/** DISPATCHING while some executions were never tried; DISPATCHED once every one was sent or held. */
export type BatchStatus = 'DISPATCHING' | 'DISPATCHED';

/** A fleet command as stored. */
export interface CommandBatch {
  readonly batchId: string;
  readonly name: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly targets: RolloutTargets;
  readonly description?: string;
  readonly ratePerMinute: number;
  readonly expiresAt: number;
  /** The request's timeout; each type's catalog timeout when absent. */
  readonly timeoutSeconds?: number;
  readonly createdAt: number;
  readonly status: BatchStatus;
  /** Devices the targets selected. */
  readonly targeted: number;
  /** Selected devices whose type has no such command: no execution. */
  readonly skippedUnknownCommand: number;
  /** Executions created: targeted minus skipped. */
  readonly total: number;
  /** Executions tried so far (sent, or held for a device asleep). */
  readonly dispatched: number;
  readonly lastDispatchAt?: number;
  readonly version: number;
}

/** One device a batch sends to. */
export interface BatchTarget {
  readonly deviceId: string;
  readonly deviceType: string;
}

/** A device selection, or the parameters' issues (they are the operator's to fix: 400). */
export type BatchSelection =
  | {
      readonly ok: true;
      readonly targets: readonly BatchTarget[];
      readonly targeted: number;
      readonly skippedUnknownCommand: number;
      /** Each type's timeout for the command (the catalog's). */
      readonly timeoutSeconds: Readonly<Record<string, number>>;
    }
  | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/**
 * Selects the devices of a fleet command from registry records and checks the command against each
 * selected type's catalog, once per type. A type that does not have the command is skipped and counted;
 * parameters a type's schema refuses refuse the whole request, naming the field.
 */
export function selectBatchTargets(
  devices: Iterable<RolloutDevice>,
  targets: RolloutTargets,
  catalog: CommandCatalog,
  command: { readonly name: string; readonly parameters: unknown },
): BatchSelection {
  const selected = targetFilter(targets);
  const checks = new Map<string, ReturnType<typeof checkCommand>>();
  const chosen: BatchTarget[] = [];
  let targeted = 0;
  let skipped = 0;
  for (const device of devices) {
    if (!selected(device)) continue;
    targeted++;
    let check = checks.get(device.deviceType);
    if (check === undefined) {
      check = checkCommand(catalog, device.deviceType, command.name, command.parameters);
      checks.set(device.deviceType, check);
    }
    if (check.ok) {
      chosen.push({ deviceId: device.thingName, deviceType: device.deviceType });
      continue;
    }
    // An unknown name is a fact about this type; anything else is about the parameters sent.
    if (check.issues.some((issue) => issue.field !== 'name')) return { ok: false, issues: check.issues };
    skipped++;
  }
  const timeoutSeconds: Record<string, number> = {};
  for (const [type, check] of checks) if (check.ok) timeoutSeconds[type] = check.definition.timeoutSeconds;
  return { ok: true, targets: chosen, targeted, skippedUnknownCommand: skipped, timeoutSeconds };
}

/**
 * How many more executions may be tried now: `ratePerMinute` for each minute begun since the batch was
 * created, less what was tried, and never more than one minute's worth at once (a scheduler that missed
 * ticks does not catch up in one burst).
 */
export function dispatchQuota(batch: CommandBatch, now: number): number {
  const minutes = Math.floor(Math.max(0, now - batch.createdAt) / 60_000) + 1;
  const allowed = Math.min(batch.total, minutes * batch.ratePerMinute);
  return Math.max(0, Math.min(batch.ratePerMinute, allowed - batch.dispatched));
}

/**
 * The batch after `count` more executions were tried at `now`. It is DISPATCHED when its send queue was
 * found empty (`drained`), not by arithmetic: the queue is the truth, the count a figure for people.
 */
export function recordDispatch(
  batch: CommandBatch,
  count: number,
  now: number,
  drained: boolean,
): CommandBatch {
  return {
    ...batch,
    dispatched: Math.min(batch.total, batch.dispatched + count),
    status: drained ? 'DISPATCHED' : 'DISPATCHING',
    lastDispatchAt: now,
    version: batch.version + 1,
  };
}
