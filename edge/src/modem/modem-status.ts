import type { ModemStatus } from '../../../lib/protocol/modem.ts';
import type { AtChannelCounters } from './at-channel.ts';
import type { EdrxReport } from './edrx.ts';
import type { PsmSettings } from './psm.ts';
import { isRegistered, type Registration } from './registration.ts';
import { barsFromRsrp, barsFromRssi, type CesqReading, type CsqReading } from './signal.ts';

/*
 * How what the modem reports (+CEREG, +CEDRXP, signal readings, requested PSM / eDRX) changes a
 * ModemStatus. Pure: each function returns a patch for the driver to apply, and reads nothing but its
 * arguments.
 */

/**
 * The patch for a +CEREG report. Leaving registration clears what only holds while registered
 * (operator, signal); timers the network assigned (<n>=4, 27.007 §10.1.22) update `psm.assigned`.
 */
export function registrationPatch(current: ModemStatus, registration: Registration): Partial<ModemStatus> {
  const registered = isRegistered(registration.state);
  const assigned =
    registration.activeTimeSeconds !== undefined || registration.periodicTauSeconds !== undefined
      ? {
          activeTimeSeconds: registration.activeTimeSeconds ?? undefined,
          periodicTauSeconds: registration.periodicTauSeconds ?? undefined,
        }
      : undefined;
  return {
    registration: registration.state,
    rat: registered ? (registration.rat ?? current.rat) : undefined,
    tac: registration.tac ?? (registered ? current.tac : undefined),
    cellId: registration.cellId ?? (registered ? current.cellId : undefined),
    ...(registered
      ? {}
      : { operator: undefined, rsrp: undefined, rsrq: undefined, rssi: undefined, bars: 0 }),
    ...(assigned
      ? {
          psm: {
            ...current.psm,
            enabled: current.psm?.enabled ?? (registration.activeTimeSeconds ?? null) !== null,
            assigned,
          },
        }
      : {}),
  };
}

/** The patch for a +CEDRXP URC; keeps the requested cycle when the URC leaves it out. */
export function edrxReportPatch(current: ModemStatus, edrx: EdrxReport): Partial<ModemStatus> {
  return {
    edrx: {
      enabled: edrx.act !== 0,
      requestedCycleSeconds: edrx.requestedCycleSeconds ?? current.edrx?.requestedCycleSeconds,
      networkCycleSeconds: edrx.networkCycleSeconds,
      pagingWindowSeconds: edrx.pagingWindowSeconds,
    },
  };
}

/** The patch for a signal reading: RSRP gives the bars when the modem reports it, else RSSI. */
export function signalPatch(signal: CesqReading & CsqReading): Partial<ModemStatus> {
  const rsrp = signal.rsrpDbm;
  return {
    rsrp,
    rsrq: signal.rsrqDb,
    rssi: signal.rssiDbm,
    bars: rsrp !== undefined ? barsFromRsrp(rsrp) : barsFromRssi(signal.rssiDbm),
  };
}

/** The patch for PSM settings requested with `AT+CPSMS`; what the network assigned is kept. */
export function psmRequestedPatch(current: ModemStatus, requested: PsmSettings): Partial<ModemStatus> {
  return {
    psm: {
      ...current.psm,
      enabled: requested.enabled,
      requested: {
        periodicTauSeconds: requested.periodicTauSeconds ?? undefined,
        activeTimeSeconds: requested.activeTimeSeconds ?? undefined,
      },
    },
  };
}

/**
 * `current` with `patch` applied, the counters refreshed and `updatedAt` set to `now`. Keys whose
 * value is undefined are removed, so that a status has no key for what is unknown.
 */
export function nextStatus(
  current: ModemStatus,
  patch: Partial<ModemStatus>,
  counters: Pick<AtChannelCounters, 'garbage' | 'stray' | 'timeouts'>,
  recoveries: number,
  now: number,
): ModemStatus {
  const next: ModemStatus = {
    ...current,
    ...patch,
    counters: {
      garbage: counters.garbage,
      stray: counters.stray,
      timeouts: counters.timeouts,
      recoveries,
    },
    updatedAt: now,
  };
  for (const key of Object.keys(next) as (keyof ModemStatus)[]) if (next[key] === undefined) delete next[key];
  return next;
}
