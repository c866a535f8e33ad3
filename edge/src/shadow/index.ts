/**
 * Shadow sync, the edge agent's side of its classic shadow: compose one {@link ShadowSync} on a
 * `DeviceTransport` (see `../transport`), a {@link ShadowCopyStore} (a file on a device) and the
 * agent's {@link ApplyConfig} and {@link DeviceStateProviders}.
 *
 * ```ts
 * const sync = new ShadowSync({
 *   thingName, transport, clock: systemClock, defaults: DEFAULT_DEVICE_CONFIG,
 *   store: new FileShadowCopyStore(join(dataDir, 'shadow.json')),
 *   apply: (next, previous) => agent.applyConfig(next, previous),
 *   providers: { firmware, model, modem, health },
 * });
 * await sync.start();      // applies the local copy, then syncs on every connection
 * await sync.reportState(); // after firmware / model / modem / health changed
 * await sync.stop();
 * ```
 */
export { FileShadowCopyStore, MemoryShadowCopyStore } from './copy-store.ts';
export { ShadowClientClosedError, ShadowRejectedError, ShadowRequestTimeoutError } from './errors.ts';
export type {
  ApplyConfig,
  DeviceStateProviders,
  FirmwareReport,
  HealthReport,
  ModelReport,
  ModemReport,
  ShadowCopyStore,
  ShadowLocalCopy,
  ShadowLog,
  TensorReport,
} from './ports.ts';
export { ShadowSync, type ShadowSyncOptions } from './shadow-sync.ts';
