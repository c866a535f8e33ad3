import type { Access, Topology } from './model.ts';

/**
 * The MQTT topics a function may publish to as the platform, as IAM resource patterns below IoT's
 * `topic/` ARN prefix: `<prefix>/*` for each `topics` resource it `uses` with write access. The CDK app
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
    if (resource?.kind === 'topics' && (access === 'write' || access === 'readWrite')) {
      grants.push(`${resource.prefix}/*`);
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
