import type { Reading } from '../../../lib/protocol/messages.ts';
import { uplinkReadingProblem } from '../../../lib/protocol/uplink/codec.ts';
import type { MetricResolution } from '../../../lib/protocol/uplink/resolution.ts';
import { CoapGateway, type CoapGatewayOptions, CommandRejectedError } from '../coap/index.ts';
import { UplinkReadingError } from '../uplink/batcher.ts';
import type { EdgeAgent } from './edge-agent.ts';

/**
 * The uplink resolution of a CoAP sensor's metric (`<sensorId>_<metric>`): 0.001 of its unit. The
 * gateway cannot know each sensor's precision in advance; a thousandth is finer than the constrained
 * sensors it serves report, and the uplink's delta coding makes the unused digits cost next to nothing.
 */
export const SENSOR_METRIC_RESOLUTION: MetricResolution = { decimals: 3 };
const SENSOR_METRIC = /^[a-zA-Z][a-zA-Z0-9]{0,23}_/;

/** Resolutions for the uplink: the sensors' metrics; the device's own are the known ones. */
export const sensorMetricResolutions = (name: string): MetricResolution | undefined =>
  SENSOR_METRIC.test(name) ? SENSOR_METRIC_RESOLUTION : undefined;

export interface CoapSensorsOptions {
  readonly agent: EdgeAgent;
  /** The uplink's `add` (readings journaled before it resolves). */
  readonly add: (reading: Reading) => Promise<unknown>;
  readonly port: number;
  readonly host?: string;
  /** Sources allowed to send requests (`coap/exposure.ts`); undefined on loopback. */
  readonly allowedSources?: readonly string[];
  readonly log?: (event: string, detail: Record<string, unknown>) => void;
}

/**
 * The CoAP gateway joined to the agent: sensors' readings go into the device's uplink (all of a
 * request's readings checked first, so a bad one refuses the request before any is queued), `GET
 * /readings` serves the device's own last sample, and the commands act on the agent.
 */
export function sensorGatewayOptions(
  agent: EdgeAgent,
  add: (reading: Reading) => Promise<unknown>,
): Pick<CoapGatewayOptions, 'sink' | 'latest' | 'onCommand'> {
  return {
    sink: async (readings) => {
      for (const reading of readings) {
        const problem = uplinkReadingProblem(reading, sensorMetricResolutions);
        if (problem !== undefined) throw new UplinkReadingError(problem);
      }
      for (const reading of readings) await add(reading);
    },
    latest: () => agent.latestReading(),
    onCommand: async (command) => {
      if (command.name === 'sample-now') {
        const reading = await agent.sampleNow();
        return { ts: reading.ts, values: reading.values };
      }
      if (command.name === 'set-interval') {
        agent.overrideSamplingInterval(command.seconds);
        return { samplingIntervalS: command.seconds };
      }
      throw new CommandRejectedError('unknown command');
    },
  };
}

/** Starts the gateway for the agent; observers of `/readings` are told of each new sample. */
export async function startCoapSensors(options: CoapSensorsOptions): Promise<CoapGateway> {
  const { agent, add, log } = options;
  const gateway = new CoapGateway({
    port: options.port,
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.allowedSources === undefined ? {} : { allowedSources: options.allowedSources }),
    ...sensorGatewayOptions(agent, add),
    ...(log === undefined ? {} : { log }),
  });
  agent.onSample(() => gateway.notifyLatestChanged());
  await gateway.start();
  return gateway;
}
