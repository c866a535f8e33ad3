import { describe, expect, it } from 'vitest';
import { collectDiagnostics, type DiagnosticsSources } from '../../../../edge/src/commands/diagnostics.ts';
import type { ModemStatus } from '../../../../lib/protocol/modem.ts';

const registered: ModemStatus = {
  state: 'registered',
  registration: 'registered-roaming',
  rat: 'LTE-M',
  rsrp: -110,
  rsrq: -14,
  bars: 1,
  psm: { enabled: true, assigned: { periodicTauSeconds: 3600, activeTimeSeconds: 60 } },
  updatedAt: 1_700_000_000_000,
};

function sources(modem: DiagnosticsSources['modem']): DiagnosticsSources {
  return {
    ...(modem === undefined ? {} : { modem }),
    uplinkQueue: () => ({ queuedRecords: 4, queuedBytes: 900, droppedRecords: 2 }),
    answersQueue: () => ({ queuedRecords: 1 }),
    dataDir: '/this/path/does/not/exist',
    firmware: () => ({ version: '1.0.0' }),
    agentUptimeSeconds: () => 42,
  };
}

describe('collectDiagnostics', () => {
  it('reads the signal fresh from the modem driver before reporting it', async () => {
    // Arrange: the driver's last reading is old until refreshSignal takes a new one.
    let status = registered;
    const modem = {
      get status() {
        return status;
      },
      refreshSignal: async () => {
        status = { ...status, rsrp: -95, rsrq: -10, bars: 3, updatedAt: status.updatedAt + 60_000 };
        return status;
      },
    };

    // Act
    const diagnostics = await collectDiagnostics(sources(modem));

    // Assess
    expect(diagnostics.modem).toEqual({
      state: 'registered',
      registration: 'registered-roaming',
      rat: 'LTE-M',
      rsrpDbm: -95,
      rsrqDb: -10,
      bars: 3,
      psm: { enabled: true, assigned: { periodicTauSeconds: 3600, activeTimeSeconds: 60 } },
      signalAt: registered.updatedAt + 60_000,
    });
    expect(diagnostics).toMatchObject({
      uplink: { queuedRecords: 4, queuedBytes: 900, droppedRecords: 2, answersQueued: 1 },
      firmware: { version: '1.0.0' },
      uptimeSeconds: 42,
    });
  });

  it('reports the last known modem state and why it is not fresh, and a disk it cannot read, instead of failing', async () => {
    // Arrange
    const modem = {
      status: registered,
      refreshSignal: async () => {
        throw new Error('AT+CESQ timed out after 5000 ms');
      },
    };

    // Act
    const diagnostics = await collectDiagnostics(sources(modem));

    // Assess
    expect(diagnostics.modem).toMatchObject({
      rsrpDbm: -110,
      signalError: 'AT+CESQ timed out after 5000 ms',
    });
    expect(diagnostics.disk).toEqual({ error: expect.stringContaining('ENOENT') });
  });
});
