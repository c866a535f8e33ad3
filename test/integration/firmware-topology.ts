import type { Topology } from '../../lib/topology/model.ts';
import { topology } from '../../lib/topology.ts';

/** The firmware API's routes, as `lib/topology.ts` declares them. */
export const FIRMWARE_ROUTES = topology.functions.apiFirmware.routes;

const { firmware, firmwareCatalog, firmwareSigning, modelSigning, rollbackSigning, keySetSigning, rollouts } =
  topology.resources;

/**
 * The firmware registry alone, cut from `lib/topology.ts`: its function and the resources it uses (the
 * rollouts table among them: a version an unfinished rollout installs cannot be withdrawn). Tests start
 * the local platform and synthesize the CDK app with it, without streams or the other functions.
 */
export const firmwareTopology = {
  resources: {
    firmware,
    firmwareCatalog,
    firmwareSigning,
    modelSigning,
    rollbackSigning,
    keySetSigning,
    rollouts,
  },
  functions: { apiFirmware: topology.functions.apiFirmware },
} as const satisfies Topology<FirmwareResource>;

/** The resources of {@link firmwareTopology}. */
export type FirmwareResource =
  | 'firmware'
  | 'firmwareCatalog'
  | 'firmwareSigning'
  | 'modelSigning'
  | 'rollbackSigning'
  | 'keySetSigning'
  | 'rollouts';
