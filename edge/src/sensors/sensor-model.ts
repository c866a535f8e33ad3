import { gaussian } from './random.ts';

/** One simulated sample of a device's sensors and radio, at each sensor's resolution. */
export interface SensorSample {
  readonly temperature: number;
  readonly humidity: number;
  readonly pressure: number;
  readonly battery: number;
  readonly rsrp: number;
  readonly rsrq: number;
}

/** Mutable state of the model between samples. */
export interface SensorState {
  temperature: number;
  humidity: number;
  pressure: number;
  battery: number;
  rsrpBase: number;
  rsrp: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
/** Rounds to a resolution given as steps per unit (100 → 0.01) without binary-fraction tails like 24.150000000000002. */
const round = (v: number, stepsPerUnit: number) => Math.round(v * stepsPerUnit) / stepsPerUnit;

/** A starting state: each device gets its own climate, radio site and charge. */
export function initialSensorState(random: () => number): SensorState {
  const rsrpBase = -75 - random() * 40;
  return {
    temperature: 18 + random() * 8,
    humidity: 35 + random() * 30,
    pressure: 1000 + random() * 25,
    battery: 60 + random() * 40,
    rsrpBase,
    rsrp: rsrpBase,
  };
}

/**
 * Advances the model by `dtSeconds`: mean-reverting random walks with measurement noise, a battery
 * that drains slowly, RSRP fading around the site's level. Values are rounded to each sensor's
 * resolution (0.01 °C, 0.1 %RH, 0.1 hPa, 1 % battery, 1 dBm RSRP, 0.5 dB RSRQ as 3GPP reports it).
 */
export function stepSensors(state: SensorState, dtSeconds: number, random: () => number): SensorSample {
  const k = Math.min(1, dtSeconds / 600);
  state.temperature = clamp(
    state.temperature + (22 - state.temperature) * k * 0.1 + gaussian(random) * 0.05 * Math.sqrt(dtSeconds),
    -40,
    85,
  );
  state.humidity = clamp(
    state.humidity + (50 - state.humidity) * k * 0.1 + gaussian(random) * 0.1 * Math.sqrt(dtSeconds),
    5,
    99,
  );
  state.pressure += (1013 - state.pressure) * k * 0.05 + gaussian(random) * 0.02 * Math.sqrt(dtSeconds);
  state.battery = clamp(state.battery - dtSeconds * 0.0005 * (0.5 + random()), 0, 100);
  state.rsrp = clamp(state.rsrp + (state.rsrpBase - state.rsrp) * 0.2 + gaussian(random) * 2, -140, -44);
  const rsrq = clamp(-10 + (state.rsrp - state.rsrpBase) * 0.3 + gaussian(random), -19.5, -3);
  return {
    temperature: round(clamp(state.temperature + gaussian(random) * 0.02, -40, 85), 100),
    humidity: round(state.humidity, 10),
    pressure: round(state.pressure, 10),
    battery: Math.round(state.battery),
    rsrp: Math.round(state.rsrp),
    rsrq: round(rsrq, 2),
  };
}
