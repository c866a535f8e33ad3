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
