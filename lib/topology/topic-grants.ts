import { accessLevel } from './access.ts';
import type { Access, Topology } from './model.ts';
import { topicIamPattern } from './topic-scope.ts';

/**
 * The MQTT topics a function may publish to as the platform, as IAM resource patterns below IoT's
 * `topic/` ARN prefix: the filter of each `topics` resource it `uses` with write access, as IAM spells
 * it (`fleet/things/+/shadow/#` → `fleet/things/*\/shadow/*`, `topicIamPattern`). The CDK app
 * grants `iot:Publish` on exactly these (`lib/constructs/resource-access.ts`), and the local IoT data
 * endpoint allows exactly these, so both runtimes draw the line in the same place.
 */
export function topicPublishGrants(
  topology: Topology,
  uses: Readonly<Partial<Record<string, Access>>> | undefined,
): string[] {
  const grants: string[] = [];
  for (const [name, access] of Object.entries(uses ?? {})) {
    const resource = topology.resources[name];
    if (resource?.kind === 'topics' && access !== undefined && accessLevel(access) !== 'read') {
      grants.push(topicIamPattern(resource.filter));
    }
  }
  return grants;
}

/**
 * IAM's resource matching for a topic name: `*` matches any run of characters (`/` included), `?` any
 * one (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
 */
export function topicMatchesGrant(topic: string, pattern: string): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(topic);
}
