import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileShadowCopyStore, MemoryShadowCopyStore } from '../../../../edge/src/shadow/copy-store.ts';
import type { JsonObject } from '../../../../edge/src/shadow/json.ts';
import type {
  ApplyConfig,
  DeviceStateProviders,
  ShadowCopyStore,
  ShadowLocalCopy,
} from '../../../../edge/src/shadow/ports.ts';
import { ShadowSync } from '../../../../edge/src/shadow/shadow-sync.ts';
import type { JsonValue as ServiceJsonValue } from '../../../../lambdas/domain/shadow/json.ts';
import {
  type ConfigErrorReport,
  DEFAULT_DEVICE_CONFIG,
  type DeviceConfig,
} from '../../../../lib/protocol/device-config.ts';
import { FakeClock } from '../ota/support.ts';
import { MemoryBroker } from '../transport/memory-transport.ts';
import { FakeShadowService, settle, THING, until } from './support.ts';

const PROVIDERS: DeviceStateProviders = {
  firmware: () => ({ version: '1.4.2', slot: 'a' }),
  model: () => ({
    version: '2.0.0',
    inputs: [{ name: 'window', type: 'float32', shape: ['batch', 60, 6] }],
    outputs: [{ name: 'score', type: 'float32', shape: ['batch', 1] }],
  }),
  modem: () => ({ registration: 'registered-home', rat: 'LTE-M', rsrpDbm: -97, bars: 3 }),
  health: () => ({ uptimeS: 42, batteryPct: 88 }),
};

interface HarnessOptions {
  connected?: boolean;
  copy?: ShadowLocalCopy;
  store?: ShadowCopyStore;
  apply?: ApplyConfig;
  providers?: DeviceStateProviders;
}

const running: ShadowSync[] = [];

function harness(options: HarnessOptions = {}) {
  const broker = new MemoryBroker();
  const service = new FakeShadowService(broker);
  const transport = broker.attach(THING, { connected: options.connected ?? true });
  const store = options.store ?? new MemoryShadowCopyStore(options.copy);
  const applied: DeviceConfig[] = [];
  const events: Array<{ event: string; fields: Readonly<Record<string, unknown>> }> = [];
  const sync = new ShadowSync({
    thingName: THING,
    transport,
    store,
    defaults: DEFAULT_DEVICE_CONFIG,
    apply:
      options.apply ??
      ((next) => {
        applied.push(next);
      }),
    providers: options.providers ?? PROVIDERS,
    clock: new FakeClock(),
    log: (event, fields = {}) => events.push({ event, fields }),
  });
  running.push(sync);
  const reported = () => service.state.reported as Record<string, unknown> | undefined;
  const reportedConfig = () => reported()?.config as DeviceConfig | undefined;
  const configErrors = () => reported()?.configErrors as ConfigErrorReport | undefined;
  const reportsWith = (key: string) =>
    service.updates().filter((body) => key in ((body.state as { reported: JsonObject }).reported ?? {}));
  return {
    broker,
    service,
    transport,
    store,
    applied,
    events,
    sync,
    reported,
    reportedConfig,
    configErrors,
    reportsWith,
  };
}

/** Stops every sync a test started; before removing a directory, so no save is still under way. */
async function stopAll(): Promise<void> {
  await Promise.all(running.splice(0).map((sync) => sync.stop()));
}

afterEach(stopAll);

describe('shadow sync: first connection', () => {
  it('gets the shadow, then reports config, firmware, model, modem and health when there is none', async () => {
    // Prepare
    const h = harness();

    // Act
    await h.sync.start();
    await until(() => h.reported()?.health !== undefined, 'first report');

    // Assess
    expect(h.service.requests.map((r) => r.operation)).toEqual(['get', 'update']);
    expect(h.reported()).toEqual({
      config: DEFAULT_DEVICE_CONFIG,
      firmware: { version: '1.4.2', slot: 'a' },
      model: {
        version: '2.0.0',
        inputs: [{ name: 'window', type: 'float32', shape: ['batch', 60, 6] }],
        outputs: [{ name: 'score', type: 'float32', shape: ['batch', 1] }],
      },
      modem: { registration: 'registered-home', rat: 'LTE-M', rsrpDbm: -97, bars: 3 },
      health: { uptimeS: 42, batteryPct: 88 },
    });
    expect(h.applied).toEqual([DEFAULT_DEVICE_CONFIG]);
  });

  it('applies desired settings found by the get on connection, then reports them', async () => {
    // Prepare: an operator set settings before the device ever connected
    const h = harness();
    h.service.setDesired({ config: { samplingIntervalS: 15 } });

    // Act
    await h.sync.start();
    await until(() => h.reportedConfig()?.samplingIntervalS === 15, 'settings reported');

    // Assess
    expect(h.applied.at(-1)).toEqual({ ...DEFAULT_DEVICE_CONFIG, samplingIntervalS: 15 });
    expect(h.service.delta).toBeUndefined();
  });
});

describe('shadow sync: deltas', () => {
  it('applies a delta, saves it, and reports it back so the delta clears', async () => {
    // Prepare
    const h = harness();
    await h.sync.start();
    await until(() => h.reportedConfig() !== undefined, 'first report');

    // Act
    h.service.setDesired({ config: { samplingIntervalS: 30 } });
    await until(() => h.reportedConfig()?.samplingIntervalS === 30, 'applied settings reported');

    // Assess
    expect(h.applied.at(-1)).toEqual({ ...DEFAULT_DEVICE_CONFIG, samplingIntervalS: 30 });
    expect(h.service.delta).toBeUndefined();
    expect(h.sync.config.samplingIntervalS).toBe(30);
    expect((h.store as MemoryShadowCopyStore).copy).toMatchObject({
      config: { samplingIntervalS: 30 },
      desiredVersion: expect.any(Number),
    });
  });

  it('merges a nested delta (one threshold bound) into the settings in effect', async () => {
    // Prepare
    const h = harness();
    await h.sync.start();
    await until(() => h.reportedConfig() !== undefined, 'first report');

    // Act
    h.service.setDesired({ config: { thresholds: { temperature: { max: 45 } }, psm: { enabled: false } } });
    await until(() => h.reportedConfig()?.psm.enabled === false, 'applied settings reported');

    // Assess
    expect(h.sync.config.thresholds).toEqual({
      ...DEFAULT_DEVICE_CONFIG.thresholds,
      temperature: { min: -20, max: 45 },
    });
    expect(h.sync.config.psm).toEqual({ ...DEFAULT_DEVICE_CONFIG.psm, enabled: false });
    expect(h.service.delta).toBeUndefined();
  });

  it('ignores a delta older than one already applied (messages are not ordered)', async () => {
    // Prepare: two desired changes whose deltas arrive newest first
    const h = harness();
    await h.sync.start();
    await until(() => h.reportedConfig() !== undefined, 'first report');
    h.service.holdDeltas = true;
    h.service.setDesired({ config: { samplingIntervalS: 30 } });
    h.service.setDesired({ config: { samplingIntervalS: 45 } });

    // Act
    h.service.releaseDeltasReversed();
    await until(() => h.events.some((e) => e.event === 'stale-delta'), 'the stale delta to be seen');
    await settle();

    // Assess
    expect(h.applied.map((config) => config.samplingIntervalS)).not.toContain(30);
    expect(h.sync.config.samplingIntervalS).toBe(45);
    expect(h.reportedConfig()?.samplingIntervalS).toBe(45);
  });

  it('leaves a delta of keys it does not own alone', async () => {
    // Prepare
    const h = harness();
    await h.sync.start();
    await until(() => h.reportedConfig() !== undefined, 'first report');
    const updatesBefore = h.service.updates().length;

    // Act
    h.service.setDesired({ lamp: 'on' });
    await settle();

    // Assess
    expect(h.service.updates()).toHaveLength(updatesBefore);
    expect(h.applied).toHaveLength(1);
  });
});

describe('shadow sync: refused settings', () => {
  it.each<[string, ServiceJsonValue, string]>([
    ['a negative interval', { samplingIntervalS: -5 }, 'config.samplingIntervalS'],
    ['an interval as text', { samplingIntervalS: 'fast' }, 'config.samplingIntervalS'],
    ['a fractional interval', { samplingIntervalS: 1.5 }, 'config.samplingIntervalS'],
    ['an active time longer than the TAU', { psm: { activeTimeS: 7200 } }, 'config.psm.activeTimeS'],
    ['a TAU beyond T3412', { psm: { periodicTauS: 40_000_000 } }, 'config.psm.periodicTauS'],
    [
      'an inverted threshold',
      { thresholds: { humidity: { min: 80, max: 20 } } },
      'config.thresholds.humidity.min',
    ],
    [
      'a threshold on a bad metric name',
      { thresholds: { '9lives': { max: 1 } } },
      'config.thresholds.9lives',
    ],
    ['a setting the firmware does not know', { turbo: true }, 'config'],
    ['settings that are not an object', 7, 'config'],
  ])('refuses %s with a reason in reported.configErrors, changing nothing', async (_name, desired, field) => {
    // Prepare
    const h = harness();
    await h.sync.start();
    await until(() => h.reportedConfig() !== undefined, 'first report');

    // Act
    h.service.setDesired({ config: desired });
    await until(() => h.configErrors() !== undefined, 'the refusal to be reported');
    await settle();

    // Assess
    const errors = h.configErrors();
    expect(errors?.issues.map((issue) => issue.field)).toContain(field);
    expect(errors?.reason).toMatch(/nothing was applied/);
    expect(h.applied).toEqual([DEFAULT_DEVICE_CONFIG]);
    expect(h.reportedConfig()).toEqual(DEFAULT_DEVICE_CONFIG);
    // Reported once, although the service sends the same delta again after every update.
    expect(h.reportsWith('configErrors')).toHaveLength(1);
    expect(h.events.some((e) => e.event === 'config-refused')).toBe(true);
  });

  it('refuses a delta that fixes one setting and breaks another as a whole (nothing half-applied)', async () => {
    // Prepare
    const h = harness();
    await h.sync.start();
    await until(() => h.reportedConfig() !== undefined, 'first report');

    // Act
    h.service.setDesired({ config: { samplingIntervalS: 10, psm: { activeTimeS: -1 } } });
    await until(() => h.configErrors() !== undefined, 'the refusal to be reported');

    // Assess
    expect(h.sync.config.samplingIntervalS).toBe(DEFAULT_DEVICE_CONFIG.samplingIntervalS);
    expect(h.reportedConfig()?.samplingIntervalS).toBe(DEFAULT_DEVICE_CONFIG.samplingIntervalS);
    expect(h.configErrors()?.issues).toEqual([{ field: 'config.psm.activeTimeS', reason: 'must be >= 0' }]);
  });

  it('clears the refusal once the operator sets a valid value', async () => {
    // Prepare
    const h = harness();
    await h.sync.start();
    await until(() => h.reportedConfig() !== undefined, 'first report');
    h.service.setDesired({ config: { samplingIntervalS: 0 } });
    await until(() => h.configErrors() !== undefined, 'the refusal to be reported');

    // Act
    h.service.setDesired({ config: { samplingIntervalS: 20 } });
    await until(() => h.reportedConfig()?.samplingIntervalS === 20, 'the valid value to be reported');

    // Assess
    expect(h.configErrors()).toBeUndefined();
    expect(h.service.delta).toBeUndefined();
  });

  it('rolls back and reports when applying the settings fails', async () => {
    // Prepare: the modem refuses the new PSM timers
    const calls: Array<{ next: number; previous: number | undefined }> = [];
    const h = harness({
      apply: (next, previous) => {
        calls.push({ next: next.psm.periodicTauS, previous: previous?.psm.periodicTauS });
        if (next.psm.periodicTauS === 600) throw new Error('+CME ERROR: 4');
      },
    });
    await h.sync.start();
    await until(() => h.reportedConfig() !== undefined, 'first report');

    // Act
    h.service.setDesired({ config: { psm: { periodicTauS: 600 } } });
    await until(() => h.configErrors() !== undefined, 'the failure to be reported');

    // Assess
    expect(calls).toEqual([
      { next: 3600, previous: undefined },
      { next: 600, previous: 3600 },
      { next: 3600, previous: 600 },
    ]);
    expect(h.configErrors()?.reason).toMatch(/\+CME ERROR: 4.*previous config still runs/);
    expect(h.sync.config.psm.periodicTauS).toBe(3600);
  });
});

describe('shadow sync: rejections', () => {
  it('on a version conflict, gets the shadow again and reports again', async () => {
    // Prepare: another writer updates just before the device reports the new settings
    const h = harness();
    await h.sync.start();
    await until(() => h.reportedConfig() !== undefined, 'first report');
    h.service.conflictNextUpdates = 1;
    const getsBefore = h.service.requests.filter((r) => r.operation === 'get').length;

    // Act
    h.service.setDesired({ config: { samplingIntervalS: 30 } });
    await until(() => h.events.some((e) => e.event === 'version-conflict'), 'the conflict');
    await until(() => h.reportedConfig()?.samplingIntervalS === 30, 'the settings to be reported');
    // The /documents of the other write may put the settings through before the get goes out.
    await settle();

    // Assess
    expect(h.service.requests.filter((r) => r.operation === 'get').length).toBe(getsBefore + 1);
    // Every settings report after the first (which created the shadow) is made against a version.
    expect(
      h
        .reportsWith('config')
        .slice(1)
        .every((body) => typeof body.version === 'number'),
    ).toBe(true);
    expect(h.service.delta).toBeUndefined();
  });

  it('tries the get again after the service throttles it', async () => {
    // Prepare
    const h = harness();
    h.service.failNext = { count: 1, code: 429 };

    // Act
    await h.sync.start();
    await until(() => h.reportedConfig() !== undefined, 'first report');

    // Assess
    expect(h.service.requests.map((r) => r.operation)).toEqual(['get', 'get', 'update']);
    expect(h.events.some((e) => e.event === 'get-failed')).toBe(true);
  });

  it('puts back settings someone else overwrote in reported', async () => {
    // Prepare
    const h = harness();
    await h.sync.start();
    await until(() => h.reportedConfig() !== undefined, 'first report');

    // Act
    h.service.setReported({ config: { samplingIntervalS: 999 } });
    await until(() => h.reportedConfig()?.samplingIntervalS === 60, 'the settings to be put back');

    // Assess
    expect(h.reportedConfig()).toEqual(DEFAULT_DEVICE_CONFIG);
  });
});

describe('shadow sync: state reports', () => {
  it('reports only the sections that changed', async () => {
    // Prepare
    let uptimeS = 42;
    const h = harness({ providers: { ...PROVIDERS, health: () => ({ uptimeS, batteryPct: 88 }) } });
    await h.sync.start();
    await until(() => h.reported()?.health !== undefined, 'first report');
    uptimeS = 100;

    // Act
    await h.sync.reportState();

    // Assess
    const last = h.service.updates().at(-1) as { state: { reported: JsonObject } };
    expect(last.state.reported).toEqual({ health: { uptimeS: 100 } });
    expect(h.reported()?.health).toEqual({ uptimeS: 100, batteryPct: 88 });
  });

  it('still reports the other sections when one provider fails', async () => {
    // Prepare
    const h = harness({
      providers: {
        ...PROVIDERS,
        modem: () => {
          throw new Error('modem not answering');
        },
      },
    });

    // Act
    await h.sync.start();
    await until(() => h.reported()?.health !== undefined, 'first report');

    // Assess
    expect(h.reported()).not.toHaveProperty('modem');
    expect(h.reported()?.firmware).toEqual({ version: '1.4.2', slot: 'a' });
    expect(h.events.some((e) => e.event === 'provider-failed')).toBe(true);
  });
});

describe('shadow sync: offline and restarts', () => {
  it('applies the saved settings before connecting, and reconciles once connected', async () => {
    // Prepare: saved settings from an earlier run; the operator changed desired while the device was off
    const saved: ShadowLocalCopy = {
      config: { ...DEFAULT_DEVICE_CONFIG, samplingIntervalS: 120 },
      desiredVersion: 1,
    };
    const h = harness({ connected: false, copy: saved });
    h.service.setDesired({ config: { samplingIntervalS: 120 } });
    h.service.setDesired({ config: { samplingIntervalS: 45 } });

    // Act
    await h.sync.start();
    const offline = [...h.applied];
    h.transport.connect();
    await until(() => h.reportedConfig()?.samplingIntervalS === 45, 'reconciled settings reported');

    // Assess
    expect(offline.map((config) => config.samplingIntervalS)).toEqual([120]);
    expect(h.applied.map((config) => config.samplingIntervalS)).toEqual([120, 45]);
    expect(h.service.delta).toBeUndefined();
  });

  it('tells when it has synced: not while offline, and once the get and the report are answered', async () => {
    // Prepare
    const h = harness({ connected: false });
    let synced = false;
    await h.sync.start();
    const waiting = h.sync.whenSynced().then(() => {
      synced = true;
    });
    await settle();
    const offline = synced;

    // Act
    h.transport.connect();
    await waiting;

    // Assess
    expect(offline).toBe(false);
    expect(h.reported()?.health).toEqual({ uptimeS: 42, batteryPct: 88 });
    await expect(h.sync.whenSynced()).resolves.toBeUndefined();
  });

  it('keeps running its settings while offline and sends nothing', async () => {
    // Prepare
    const h = harness();
    await h.sync.start();
    await until(() => h.reportedConfig() !== undefined, 'first report');
    const requestsBefore = h.service.requests.length;

    // Act
    h.transport.disconnect();
    await h.sync.reportState();

    // Assess
    expect(h.service.requests).toHaveLength(requestsBefore);
    expect(h.sync.config).toEqual(DEFAULT_DEVICE_CONFIG);
  });

  it('survives a restart with the settings and the refusal it saved, reporting nothing twice', async () => {
    // Prepare: a first run applies one change and refuses another, on a file-backed copy
    const dir = await mkdtemp(join(tmpdir(), 'fleetkit-shadow-'));
    try {
      const first = harness({ store: new FileShadowCopyStore(join(dir, 'shadow.json')) });
      await first.sync.start();
      first.service.setDesired({ config: { samplingIntervalS: 30 } });
      await until(() => first.reportedConfig()?.samplingIntervalS === 30, 'first change');
      first.service.setDesired({ config: { samplingIntervalS: -1 } });
      await until(() => first.configErrors() !== undefined, 'refusal');
      await first.sync.stop();

      // Act: a new process on the same file and the same cloud shadow
      const second = harness({ store: new FileShadowCopyStore(join(dir, 'shadow.json')), connected: false });
      second.service.record = first.service.record;
      await second.sync.start();
      const offline = [...second.applied];
      second.transport.connect();
      await until(() => second.service.requests.length >= 1, 'the get');
      await settle();

      // Assess
      expect(offline.map((config) => config.samplingIntervalS)).toEqual([30]);
      expect(second.sync.configErrors?.issues[0]?.field).toBe('config.samplingIntervalS');
      expect(second.reportsWith('configErrors')).toHaveLength(0);
      expect(second.reportsWith('config')).toHaveLength(0);
    } finally {
      await stopAll();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('does not rewrite its local copy on every connection that finds nothing new', async () => {
    // Prepare: a store that counts its writes, and a device whose shadow exists (version 1)
    const store = new MemoryShadowCopyStore();
    let saves = 0;
    const save = store.save.bind(store);
    store.save = async (copy) => {
      saves++;
      await save(copy);
    };
    const h = harness({ store });
    const reconnect = async () => {
      const gets = h.service.requests.filter((r) => r.operation === 'get').length;
      h.transport.disconnect();
      h.transport.connect();
      await until(
        () => h.service.requests.filter((r) => r.operation === 'get').length > gets,
        'the get of the new connection',
      );
      await settle();
    };
    await h.sync.start();
    await until(() => h.reported()?.health !== undefined, 'first report');
    await reconnect();
    const settled = saves;

    // Act: three more connections, nothing changed in the cloud
    for (let i = 0; i < 3; i++) await reconnect();

    // Assess
    expect(saves).toBe(settled);
    expect(store.copy).toEqual({ config: DEFAULT_DEVICE_CONFIG, desiredVersion: 1 });
  });

  it('runs the defaults when the saved copy is damaged', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'fleetkit-shadow-'));
    try {
      const path = join(dir, 'shadow.json');
      await writeFile(path, '{"config": {"samplingIntervalS": "soon"}');
      const h = harness({ store: new FileShadowCopyStore(path), connected: false });

      // Act
      await h.sync.start();

      // Assess
      expect(h.applied).toEqual([DEFAULT_DEVICE_CONFIG]);
      expect(h.events.some((e) => e.event === 'local-copy-unreadable')).toBe(true);
    } finally {
      await stopAll();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
