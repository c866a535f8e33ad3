import { statfs } from 'node:fs/promises';
import { uptime } from 'node:os';
import type { ModemStatus } from '../../../lib/protocol/modem.ts';
import type { FirmwareReport, ModelReport } from '../shadow/ports.ts';

/** Where the `diagnostics` command reads each of its values. */
export interface DiagnosticsSources {
  /** The modem driver: its status, and a fresh signal reading (`AT+CESQ`) when it can take one. */
  readonly modem?: {
    readonly status: ModemStatus;
    refreshSignal?(): Promise<unknown>;
  };
  /** Telemetry waiting in the uplink's disk queue. */
  readonly uplinkQueue: () => {
    readonly queuedRecords: number;
    readonly queuedBytes: number;
    readonly droppedRecords: number;
  };
  /** Command answers waiting in their own queue. */
  readonly answersQueue?: () => { readonly queuedRecords: number };
  /** The agent's data directory: the disk whose free space matters (queues, slots, models). */
  readonly dataDir: string;
  readonly firmware: () => FirmwareReport;
  readonly model?: () => ModelReport;
  /** Seconds since the agent started. */
  readonly agentUptimeSeconds: () => number;
}

/** The modem's registration and signal, read fresh from the driver when it answers, else as last known. */
async function modemSection(
  modem: NonNullable<DiagnosticsSources['modem']>,
): Promise<Record<string, unknown>> {
  let signalError: string | undefined;
  try {
    await modem.refreshSignal?.();
  } catch (error) {
    // A modem asleep or resetting still has a last-known state worth reporting; say the reading is old.
    signalError = error instanceof Error ? error.message : String(error);
  }
  const s = modem.status;
  const assigned = s.psm?.assigned;
  return {
    state: s.state,
    registration: s.registration,
    ...(s.rat === undefined ? {} : { rat: s.rat }),
    ...(s.operator === undefined ? {} : { operator: s.operator }),
    ...(s.rsrp === undefined ? {} : { rsrpDbm: s.rsrp }),
    ...(s.rsrq === undefined ? {} : { rsrqDb: s.rsrq }),
    ...(s.rssi === undefined ? {} : { rssiDbm: s.rssi }),
    bars: s.bars,
    ...(s.psm === undefined
      ? {}
      : {
          psm: { enabled: s.psm.enabled, ...(assigned === undefined ? {} : { assigned: { ...assigned } }) },
        }),
    signalAt: s.updatedAt,
    ...(signalError === undefined ? {} : { signalError }),
  };
}

/** Free and total bytes of the file system holding `path` (statfs(2): blocks available to the agent). */
async function diskSection(path: string): Promise<Record<string, unknown>> {
  try {
    const fs = await statfs(path);
    return { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * What the `diagnostics` command returns (issue 11): modem registration and signal, uplink queue
 * depth, disk free, firmware and model versions, uptime. Each part that cannot be read says why
 * instead of failing the whole answer: diagnostics are asked for when something is wrong.
 */
export async function collectDiagnostics(sources: DiagnosticsSources): Promise<Record<string, unknown>> {
  const uplink = sources.uplinkQueue();
  const model = sources.model?.();
  return {
    modem: sources.modem === undefined ? { present: false } : await modemSection(sources.modem),
    uplink: {
      queuedRecords: uplink.queuedRecords,
      queuedBytes: uplink.queuedBytes,
      droppedRecords: uplink.droppedRecords,
      ...(sources.answersQueue === undefined ? {} : { answersQueued: sources.answersQueue().queuedRecords }),
    },
    disk: await diskSection(sources.dataDir),
    firmware: { ...sources.firmware() },
    ...(model === undefined ? {} : { model: { version: model.version } }),
    uptimeSeconds: sources.agentUptimeSeconds(),
    systemUptimeSeconds: Math.floor(uptime()),
  };
}
