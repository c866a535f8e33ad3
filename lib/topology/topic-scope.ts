import { usesOf } from './env.ts';
import type { FunctionSpec, Topology } from './model.ts';
import { topicMatches } from './rule-event.ts';

/**
 * A `topics` resource's filter as the pattern of an IAM `iot:Publish` resource (the part after
 * `topic/`): `fleet/things/+/shadow/#` → `fleet/things/*\/shadow/*`.
 *
 * IAM's `*` matches any characters, `/` included, so the pattern is a little wider than the MQTT
 * filter where a later level repeats an earlier literal: `fleet/things/*\/jobs/*` also matches
 * `fleet/things/t/shadow/name/jobs/update` (the named shadow `jobs`). Thing names cannot hold `/`
 * (https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThing.html), so the thing level
 * itself is exact. It is also a little narrower: MQTT's `#` matches its parent level
 * (`fleet/things/t/shadow`), IAM's `/*` needs one more level; no function publishes there.
 */
export function topicIamPattern(filter: string): string {
  return filter
    .split('/')
    .map((level) => (level === '+' || level === '#' ? '*' : level))
    .join('/');
}

/** The topic filters function `fn` may publish to: one per `topics` resource it uses. */
export function publishFilters(topology: Topology, fn: FunctionSpec): string[] {
  return usesOf(topology, fn).flatMap(({ resource }) =>
    resource.kind === 'topics' ? [resource.filter] : [],
  );
}

/**
 * Whether function `fn` may publish to `topic`, by the same `uses` its IAM grant is rendered from: the
 * check a local IoT data plane makes where IoT Core checks the function's role.
 */
export function mayPublish(topology: Topology, fn: FunctionSpec, topic: string): boolean {
  return publishFilters(topology, fn).some((filter) => topicMatches(filter, topic));
}
