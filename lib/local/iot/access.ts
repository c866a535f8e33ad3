import { accessParts } from '../../topology/access.ts';
import type { Topology } from '../../topology/model.ts';
import type { Principal } from '../principals.ts';

/**
 * May `principal` call the IoT registry for `access`? A function may as its role may in AWS
 * (`lib/constructs/things-access.ts`): `read` (describe, list) with a `things` resource it reads,
 * `write` (create, update, attach, detach, delete) with one it writes. The operator, the account's
 * administrator, may do anything.
 */
export function mayUseThings(topology: Topology, principal: Principal, access: 'read' | 'write'): boolean {
  if (principal.kind === 'operator') return true;
  return Object.entries(principal.uses).some(
    ([name, granted]) =>
      granted !== undefined &&
      topology.resources[name]?.kind === 'things' &&
      accessParts(granted).includes(access),
  );
}
