import type { SensorSource } from '../agent/telemetry-loop.ts';
import { seededRandom } from './random.ts';
import { initialSensorState, stepSensors } from './sensor-model.ts';

/**
 * The simulator's sensor model as a device's sensors (`FLEETKIT_SENSORS=simulated`, trials, tests):
 * each read advances the model by the time since the last one on `clock` (at least a second), so
 * the series looks alike at any sampling interval.
 */
export function simulatedSensors(seed: string, clock: { now(): number } = { now: Date.now }): SensorSource {
  const random = seededRandom(seed);
  const state = initialSensorState(random);
  let last = clock.now();
  return {
    read() {
      const now = clock.now();
      const { temperature, humidity, pressure, battery, rsrp, rsrq } = stepSensors(
        state,
        Math.max(1, (now - last) / 1000),
        random,
      );
      last = now;
      return { temperature, humidity, pressure, battery, rsrp, rsrq };
    },
  };
}
