import type { ConfigErrorReport, DeviceConfig } from '../../../lib/protocol/device-config.ts';
import type { JsonObject, JsonValue } from './json.ts';

/**
 * What shadow sync needs from the rest of the device. Each part of the agent (OTA, ML, modem) fills
 * one provider; shadow sync reports what they return under `state.reported.<section>` and nothing
 * else. Providers return plain JSON; `null` and `undefined` members are left out of the report.
 */

/** Firmware the device runs (the OTA agent knows it). */
export interface FirmwareReport extends JsonObject {
  readonly version: string;
  /** A/B slot booted. */
  readonly slot?: string;
}

/** One model input or output, as onnxruntime describes it. */
export interface TensorReport extends JsonObject {
  readonly name: string;
  /** Element type (`float32`, `int64`, ...). */
  readonly type: string;
  /** Dimensions; a string for a symbolic one (`batch`). */
  readonly shape: readonly (number | string)[];
}

/** The anomaly model loaded. */
export interface ModelReport extends JsonObject {
  readonly version: string;
  readonly inputs?: readonly TensorReport[];
  readonly outputs?: readonly TensorReport[];
}

/** Cellular state, in the units of 3GPP TS 27.007 converted as the modem driver does. */
export interface ModemReport extends JsonObject {
  /** +CEREG registration state name (`registered-home`, `searching`, ...). */
  readonly registration?: string;
  /** Access technology: `LTE-M` or `NB-IoT`. */
  readonly rat?: string;
  readonly rsrpDbm?: number;
  readonly rsrqDb?: number;
  readonly bars?: number;
  /** PSM timers the network granted (may differ from the ones asked for). */
  readonly psm?: JsonObject;
}

/** How the device is doing. */
export interface HealthReport extends JsonObject {
  readonly uptimeS?: number;
  readonly batteryPct?: number;
}

type Provider<T> = () => T | undefined | Promise<T | undefined>;

/** The sections shadow sync reports besides `config`; a section without a provider is left alone. */
export interface DeviceStateProviders {
  readonly firmware?: Provider<FirmwareReport>;
  readonly model?: Provider<ModelReport>;
  readonly modem?: Provider<ModemReport>;
  readonly health?: Provider<HealthReport>;
}

/**
 * Puts new settings into effect (sampling timer, thresholds, `AT+CPSMS`). Throwing refuses them: shadow
 * sync then calls it again with the previous settings and reports the failure.
 *
 * @param previous the settings that ran before; `undefined` on the first call after a start
 */
export type ApplyConfig = (next: DeviceConfig, previous: DeviceConfig | undefined) => void | Promise<void>;

/** The local copy that lets the device work offline and across restarts. */
export interface ShadowLocalCopy {
  /** The settings in effect. */
  readonly config: DeviceConfig;
  /** Shadow version of the newest desired state considered; older deltas are ignored. */
  readonly desiredVersion: number;
  /** The last desired settings refused, so the same refusal is reported once, not on every delta. */
  readonly refused?: { readonly candidate: JsonValue; readonly report: ConfigErrorReport };
}

/** Keeps the {@link ShadowLocalCopy} across restarts. */
export interface ShadowCopyStore {
  /** The saved copy, or `undefined` if none was saved; throws if it cannot be read or is damaged. */
  load(): Promise<ShadowLocalCopy | undefined>;
  /** Replaces the saved copy, atomically. */
  save(copy: ShadowLocalCopy): Promise<void>;
}

/** Logs one event with fields. */
export type ShadowLog = (event: string, fields?: Readonly<Record<string, unknown>>) => void;
