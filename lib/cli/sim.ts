import { parseWith } from '../protocol/parse.ts';
import { SIM_FAULT_KINDS, type SimFaultRequest, simFaultRequest } from '../protocol/sim-faults.ts';
import type { ApiClient } from './api.ts';

/** The command line's options a `sim fault` reads (as `parseArgs` gives them). */
export interface SimFaultOptions {
  readonly things?: string;
  readonly type?: string;
  readonly groups?: string;
  readonly percent?: string;
  readonly salt?: string;
  readonly for?: string;
  readonly every?: string;
  readonly down?: string;
  readonly rsrp?: string;
  readonly rsrq?: string;
  readonly 'to-percent'?: string;
  readonly over?: string;
  readonly celsius?: string;
  readonly version?: string;
  readonly 'fail-at'?: string;
}

/** A `sim` command line that cannot be run; the message says how to fix it. */
export class SimUsageError extends Error {
  override readonly name = 'SimUsageError';
}

const listOf = (value: string | undefined) =>
  value
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

function number(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new SimUsageError(`--${option} takes a number, got '${value}'`);
  return n;
}

/**
 * The `POST /local/faults` body for `sim fault <kind> ...`, checked by the same schema the platform
 * checks it with, so a mistake is named before anything is sent.
 *
 * @throws SimUsageError naming the option to fix
 */
export function simFaultFromOptions(kind: string | undefined, options: SimFaultOptions): SimFaultRequest {
  if (kind === undefined || !(SIM_FAULT_KINDS as readonly string[]).includes(kind))
    throw new SimUsageError(`sim fault needs one of ${SIM_FAULT_KINDS.join(', ')}; got '${kind ?? ''}'`);
  const targets = {
    ...(options.things === undefined ? {} : { things: listOf(options.things) }),
    ...(options.type === undefined ? {} : { deviceTypes: listOf(options.type) }),
    ...(options.groups === undefined ? {} : { groups: listOf(options.groups) }),
    ...(options.percent === undefined ? {} : { percentage: number(options.percent, 'percent') }),
    ...(options.salt === undefined ? {} : { cohortSalt: options.salt }),
  };
  if (Object.keys(targets).length === 0)
    throw new SimUsageError(
      'say which devices: --things a,b, --type t, --groups g and/or --percent p (all must hold)',
    );
  const settings: Record<string, unknown> = {
    dropEverySeconds: number(options.every, 'every'),
    downSeconds: number(options.down, 'down'),
    rsrpDbm: number(options.rsrp, 'rsrp'),
    rsrqDb: number(options.rsrq, 'rsrq'),
    toPercent: number(options['to-percent'], 'to-percent'),
    overSeconds: number(options.over, 'over'),
    celsius: number(options.celsius, 'celsius'),
    version: options.version,
    failAt: options['fail-at'],
  };
  const effect = Object.fromEntries(
    Object.entries({ kind, ...settings }).filter(([, value]) => value !== undefined),
  );
  const body = {
    targets,
    effect,
    ...(options.for === undefined ? {} : { durationS: number(options.for, 'for') }),
  };
  try {
    return parseWith(simFaultRequest, body, 'sim fault');
  } catch (error) {
    throw new SimUsageError(error instanceof Error ? error.message : String(error));
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the API's JSON answers
type Json = any;

/** `sim status` for a person: how far the fleet is up, and what holds it back. */
export function renderFleetStatus(status: Json): string {
  const failures = Object.entries(status.connectFailures ?? {}).filter(([, n]) => Number(n) > 0);
  return `${[
    `${status.devices} simulated devices: ${status.started} up, ${status.connected} connected, ${status.heldOffline} held offline by faults`,
    status.bringUpMs === undefined
      ? `  coming up: ${status.pacer?.waiting ?? 0} waiting for a connection slot`
      : `  all came up in ${(status.bringUpMs / 1000).toFixed(1)} s`,
    `  connection attempts retried: ${failures.length === 0 ? 'none' : failures.map(([kind, n]) => `${n} ${kind}`).join(', ')}`,
    `  reconnections that resumed their TLS session: ${status.resumedSessions}`,
  ].join('\n')}\n`;
}

/** One line per fault in force. */
export function renderFaults(faults: readonly Json[]): string {
  if (faults.length === 0) return 'no faults in force\n';
  return `${faults
    .map(
      (f) =>
        `${f.faultId}  ${f.effect.kind}  ${f.deviceCount} devices (${f.devices.slice(0, 5).join(', ')}${f.deviceCount > 5 ? ', ...' : ''})${f.endsAt === undefined ? '' : `  until ${f.endsAt}`}`,
    )
    .join('\n')}\n`;
}

/** Runs `sim <action> ...` against the local platform's simulator routes. */
export async function runSim(
  api: ApiClient,
  action: string | undefined,
  rest: readonly string[],
  options: SimFaultOptions & { readonly all?: boolean },
  print: (answer: unknown, human?: string) => void,
): Promise<void> {
  switch (action) {
    case 'status': {
      const status = await api.call('GET', 'local/fleet');
      return print(status, renderFleetStatus(status));
    }
    case 'faults': {
      const answer = await api.call('GET', 'local/faults');
      return print(answer, renderFaults(answer.faults));
    }
    case 'fault': {
      const fault = await api.call('POST', 'local/faults', simFaultFromOptions(rest[0], options));
      return print(
        fault,
        `${fault.faultId}: ${fault.effect.kind} on ${fault.deviceCount} devices${fault.endsAt === undefined ? '' : ` until ${fault.endsAt}`}; clear it with: sim clear ${fault.faultId}\n`,
      );
    }
    case 'clear': {
      if (options.all === true) {
        const answer = await api.call('DELETE', 'local/faults');
        return print(answer, `cleared ${answer.cleared} faults\n`);
      }
      const faultId = rest[0];
      if (faultId === undefined)
        throw new SimUsageError('sim clear needs a fault id (see sim faults), or --all');
      const answer = await api.call('DELETE', `local/faults/${encodeURIComponent(faultId)}`);
      return print(
        answer,
        `cleared ${answer.faultId} (${answer.effect.kind} on ${answer.deviceCount} devices)\n`,
      );
    }
    default:
      throw new SimUsageError(
        `unknown command 'sim ${action ?? ''}': sim status | faults | fault <kind> | clear`,
      );
  }
}
