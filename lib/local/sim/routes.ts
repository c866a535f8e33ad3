import { PayloadDecodeError, SchemaValidationError } from '../../protocol/errors.ts';
import { decodeJson, parseWith } from '../../protocol/parse.ts';
import { simFaultId, simFaultRequest } from '../../protocol/sim-faults.ts';
import type { GatewayResponse } from '../apigw-event.ts';
import { jsonError, type LocalRoute } from '../gateway.ts';
import { type FaultBook, NoMatchingDevicesError } from './fault-book.ts';
import type { SimulatedFleet } from './fleet.ts';

function json(statusCode: number, body: unknown): GatewayResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body)),
  };
}

function refusal(error: unknown): GatewayResponse {
  if (error instanceof SchemaValidationError)
    return {
      ...jsonError(400, 'ValidationError', error.message),
      body: Buffer.from(
        JSON.stringify({ code: 'ValidationError', message: error.message, issues: error.issues }),
      ),
    };
  if (error instanceof PayloadDecodeError) return jsonError(400, 'BadRequest', error.message);
  if (error instanceof NoMatchingDevicesError) return jsonError(404, 'NoMatchingDevices', error.message);
  throw error;
}

/** The simulated fleet and its faults, once the platform has started them. */
export interface Simulator {
  fleet?: SimulatedFleet;
  faults?: FaultBook;
}

/**
 * The simulated fleet's routes on the local HTTP API (SigV4-signed like every other route), for the
 * CLI (`fleetkit sim ...`) and the console:
 *
 * - `GET /local/fleet`: how the fleet stands — devices up, connected, held offline, connection
 *   failures by kind, the pacer;
 * - `GET /local/faults`, `POST /local/faults` (a {@link simFaultRequest}), `DELETE /local/faults`
 *   (all) and `DELETE /local/faults/{faultId}`.
 */
export function simulatorRoutes(simulator: Simulator): Record<string, LocalRoute> {
  const running =
    (route: (fleet: SimulatedFleet, faults: FaultBook) => GatewayResponse | Promise<GatewayResponse>) =>
    () => {
      const { fleet, faults } = simulator;
      if (fleet === undefined || faults === undefined)
        return jsonError(503, 'ServiceUnavailable', 'the simulated fleet is not started yet; try again');
      return route(fleet, faults);
    };
  return {
    'GET /local/fleet': running((fleet) => json(200, fleet.status())),
    'GET /local/faults': running((_fleet, faults) => json(200, { faults: faults.list() })),
    'POST /local/faults': (request) =>
      running(async (_fleet, faults) => {
        try {
          const body = parseWith(simFaultRequest, decodeJson(request.body, 'fault request'), 'fault request');
          return json(201, await faults.add(body));
        } catch (error) {
          return refusal(error);
        }
      })(),
    'DELETE /local/faults': running((_fleet, faults) => json(200, { cleared: faults.clearAll() })),
    'DELETE /local/faults/{faultId}': ({ pathParameters }) =>
      running((_fleet, faults) => {
        try {
          const faultId = parseWith(simFaultId, pathParameters.faultId, 'fault id');
          const cleared = faults.clear(faultId);
          if (cleared === undefined)
            return jsonError(
              404,
              'NotFound',
              `no fault '${faultId}' in force; list them with GET /local/faults`,
            );
          return json(200, cleared);
        } catch (error) {
          return refusal(error);
        }
      })(),
  };
}
