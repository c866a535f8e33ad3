import { describe, expect, it } from 'vitest';
import {
  compileDevicePolicy,
  DEVICE_PERMISSIONS,
  type DeviceAction,
  resolveResource,
} from '../../../lib/protocol/device-policy.ts';

describe('compileDevicePolicy for thing A of type tracker, its certificate attached', () => {
  const allows = compileDevicePolicy({ thingName: 'A', thingType: 'tracker', attached: true });

  it.each<[string, DeviceAction, string, boolean]>([
    ['connect as itself', 'Connect', 'A', true],
    ['connect as another thing', 'Connect', 'B', false],
    ['connect as a longer name starting with its own', 'Connect', 'AB', false],
    ['connect with a wildcard client id', 'Connect', '*', false],
    ['publish its own telemetry', 'Publish', 'devices/tracker/A/telemetry', true],
    ['publish its own status', 'Publish', 'devices/tracker/A/status', true],
    ["publish another device's telemetry", 'Publish', 'devices/tracker/B/telemetry', false],
    ["publish another device's status", 'Publish', 'devices/tracker/B/status', false],
    ['publish as the same id under another type', 'Publish', 'devices/sensor/A/telemetry', false],
    ['publish a command (devices do not publish commands)', 'Publish', 'devices/tracker/A/commands', false],
    ['answer its own commands', 'Publish', 'devices/tracker/A/command-answers', true],
    ["answer another device's commands", 'Publish', 'devices/tracker/B/command-answers', false],
    ['answer as its id under another type', 'Publish', 'devices/sensor/A/command-answers', false],
    [
      'subscribe to its own answers (only the cloud reads them)',
      'Subscribe',
      'devices/tracker/A/command-answers',
      false,
    ],
    ["receive another device's answers", 'Receive', 'devices/tracker/B/command-answers', false],
    ['publish to a wildcard topic', 'Publish', 'devices/+/A/status', false],
    ['subscribe to its own commands', 'Subscribe', 'devices/tracker/A/commands', true],
    ['receive its own commands', 'Receive', 'devices/tracker/A/commands', true],
    ["subscribe to another device's commands", 'Subscribe', 'devices/tracker/B/commands', false],
    ['subscribe to its id under another type', 'Subscribe', 'devices/sensor/A/commands', false],
    ['subscribe with + for the type (+ is literal in a policy)', 'Subscribe', 'devices/+/A/commands', false],
    ['subscribe with + for the id', 'Subscribe', 'devices/tracker/+/commands', false],
    ['subscribe to devices/#', 'Subscribe', 'devices/#', false],
    ['subscribe to #', 'Subscribe', '#', false],
    ['subscribe to its own device topics with #', 'Subscribe', 'devices/tracker/A/#', false],
    ['subscribe to its own telemetry', 'Subscribe', 'devices/tracker/A/telemetry', false],
    ["receive another device's commands", 'Receive', 'devices/tracker/B/commands', false],
    ['publish a classic shadow update', 'Publish', 'fleet/things/A/shadow/update', true],
    ['publish a classic shadow get', 'Publish', 'fleet/things/A/shadow/get', true],
    ['publish a classic shadow delete', 'Publish', 'fleet/things/A/shadow/delete', true],
    ['publish a named shadow update', 'Publish', 'fleet/things/A/shadow/name/cfg/update', true],
    ['publish a named shadow delete', 'Publish', 'fleet/things/A/shadow/name/cfg/delete', true],
    ["publish another thing's shadow update", 'Publish', 'fleet/things/B/shadow/update', false],
    [
      "publish another thing's named shadow update",
      'Publish',
      'fleet/things/B/shadow/name/cfg/update',
      false,
    ],
    [
      'publish a shadow response (only the service does)',
      'Publish',
      'fleet/things/A/shadow/update/accepted',
      false,
    ],
    [
      'publish a shadow delta (only the service does)',
      'Publish',
      'fleet/things/A/shadow/update/delta',
      false,
    ],
    ["publish to AWS's reserved shadow topic", 'Publish', '$aws/things/A/shadow/update', false],
    [
      'subscribe to all its shadow topics with # (policy * matches # literally)',
      'Subscribe',
      'fleet/things/A/shadow/#',
      true,
    ],
    ['subscribe to its shadow update accepted', 'Subscribe', 'fleet/things/A/shadow/update/accepted', true],
    ["subscribe to another thing's shadow", 'Subscribe', 'fleet/things/B/shadow/#', false],
    ['receive its shadow update accepted', 'Receive', 'fleet/things/A/shadow/update/accepted', true],
    ['receive its shadow update delta', 'Receive', 'fleet/things/A/shadow/update/delta', true],
    ['receive its named shadow delta', 'Receive', 'fleet/things/A/shadow/name/cfg/update/delta', true],
    ['receive its shadow get rejected', 'Receive', 'fleet/things/A/shadow/get/rejected', true],
    ["receive another thing's shadow delta", 'Receive', 'fleet/things/B/shadow/update/delta', false],
    ['publish jobs get', 'Publish', 'fleet/things/A/jobs/get', true],
    ['publish jobs start-next', 'Publish', 'fleet/things/A/jobs/start-next', true],
    ['publish a job execution update', 'Publish', 'fleet/things/A/jobs/job-1/update', true],
    ['publish a job execution get', 'Publish', 'fleet/things/A/jobs/job-1/get', true],
    ['publish $next/get', 'Publish', 'fleet/things/A/jobs/$next/get', true],
    ['publish jobs notify (only the service does)', 'Publish', 'fleet/things/A/jobs/notify', false],
    ['publish jobs notify-next (only the service does)', 'Publish', 'fleet/things/A/jobs/notify-next', false],
    ['publish a jobs response (only the service does)', 'Publish', 'fleet/things/A/jobs/get/accepted', false],
    ["publish another thing's job update", 'Publish', 'fleet/things/B/jobs/job-1/update', false],
    ['subscribe to its jobs notify-next', 'Subscribe', 'fleet/things/A/jobs/notify-next', true],
    ['receive its job update accepted', 'Receive', 'fleet/things/A/jobs/job-1/update/accepted', true],
    ["receive another thing's jobs notify-next", 'Receive', 'fleet/things/B/jobs/notify-next', false],
    ['subscribe to the whole fleet namespace', 'Subscribe', 'fleet/#', false],
    ['subscribe to every thing with + (literal)', 'Subscribe', 'fleet/things/+/shadow/#', false],
    ['publish an identity get', 'Publish', 'fleet/things/A/identity/get', true],
    ['publish an identity activate', 'Publish', 'fleet/things/A/identity/activate', true],
    ['publish an identity confirm', 'Publish', 'fleet/things/A/identity/confirm', true],
    ['publish identity notify (only the service does)', 'Publish', 'fleet/things/A/identity/notify', false],
    [
      'publish an identity response (only the service does)',
      'Publish',
      'fleet/things/A/identity/activate/accepted',
      false,
    ],
    ["publish another thing's identity activate", 'Publish', 'fleet/things/B/identity/activate', false],
    ['subscribe to its identity responses', 'Subscribe', 'fleet/things/A/identity/get/accepted', true],
    ['receive its identity notify', 'Receive', 'fleet/things/A/identity/notify', true],
    ["subscribe to another thing's identity", 'Subscribe', 'fleet/things/B/identity/notify', false],
    ['publish a CSR to CreateCertificateFromCsr', 'Publish', '$aws/certificates/create-from-csr/json', true],
    [
      'subscribe to CreateCertificateFromCsr accepted',
      'Subscribe',
      '$aws/certificates/create-from-csr/json/accepted',
      true,
    ],
    [
      'receive CreateCertificateFromCsr rejected',
      'Receive',
      '$aws/certificates/create-from-csr/json/rejected',
      true,
    ],
    [
      'publish to CreateKeysAndCertificate (keys made by AWS)',
      'Publish',
      '$aws/certificates/create/json',
      false,
    ],
    [
      'publish to the CBOR CreateCertificateFromCsr',
      'Publish',
      '$aws/certificates/create-from-csr/cbor',
      false,
    ],
    [
      'publish a CreateCertificateFromCsr answer (only IoT does)',
      'Publish',
      '$aws/certificates/create-from-csr/json/accepted',
      false,
    ],
    [
      'publish to a provisioning template (claim certificates only)',
      'Publish',
      '$aws/provisioning-templates/fleet/provision/json',
      false,
    ],
  ])('%s → %s %s allowed: %s', (_rule, action, resource, expected) => {
    expect(allows(action, resource)).toBe(expected);
  });
});

describe('identity values are substituted literally', () => {
  const allowsA = compileDevicePolicy({ thingName: 'A', thingType: 'tracker', attached: true });

  it.each<[string, DeviceAction, string]>([
    ['Connect', 'Connect', 'AB'],
    ['telemetry of a thing whose name extends its own', 'Publish', 'devices/tracker/AB/telemetry'],
    ['telemetry of a type whose name extends its own', 'Publish', 'devices/trackers/A/telemetry'],
    ['a shadow of a thing whose name extends its own', 'Publish', 'fleet/things/AB/shadow/update'],
    [
      'a named shadow of a thing whose name extends its own',
      'Publish',
      'fleet/things/AB/shadow/name/cfg/update',
    ],
    ['shadow responses of a thing whose name extends its own', 'Subscribe', 'fleet/things/AB/shadow/#'],
    ['jobs of a thing whose name extends its own', 'Publish', 'fleet/things/AB/jobs/job-1/update'],
    ['commands of a thing whose name extends its own', 'Subscribe', 'devices/tracker/AB/commands'],
    ['answers of a thing whose name extends its own', 'Publish', 'devices/tracker/AB/command-answers'],
    ['a different letter case', 'Publish', 'devices/tracker/a/telemetry'],
  ])('thing A is denied %s', (_rule, action, resource) => {
    expect(allowsA(action, resource)).toBe(false);
  });

  it('thing AB is allowed what thing A is denied, so the denial above is about identity', () => {
    // Prepare
    const allowsAB = compileDevicePolicy({ thingName: 'AB', thingType: 'tracker', attached: true });

    // Act
    const decisions = [
      allowsAB('Connect', 'AB'),
      allowsAB('Publish', 'devices/tracker/AB/telemetry'),
      allowsAB('Publish', 'fleet/things/AB/shadow/update'),
      allowsAB('Subscribe', 'fleet/things/AB/shadow/#'),
    ];

    // Assess
    expect(decisions).toEqual([true, true, true, true]);
    expect(allowsAB('Publish', 'devices/tracker/A/telemetry')).toBe(false);
  });

  it.each<[DeviceAction, string, boolean]>([
    ['Connect', 'dev:01_x-Y', true],
    ['Publish', 'devices/gw_v2-b:1/dev:01_x-Y/status', true],
    ['Subscribe', 'devices/gw_v2-b:1/dev:01_x-Y/commands', true],
    ['Publish', 'fleet/things/dev:01_x-Y/shadow/update', true],
    ['Publish', 'devices/gw_v2-b:1/dev:01xxY/status', false],
    ['Connect', 'dev:01_x-', false],
  ])(
    'a name using every allowed punctuation matches only itself: %s %s → %s',
    (action, resource, expected) => {
      // Prepare
      const allows = compileDevicePolicy({
        thingName: 'dev:01_x-Y',
        thingType: 'gw_v2-b:1',
        attached: true,
      });

      // Act
      const decision = allows(action, resource);

      // Assess
      expect(decision).toBe(expected);
    },
  );
});

describe('DEVICE_PERMISSIONS and resolveResource', () => {
  it.each<[string, string]>([
    ['devices/{thingType}/{thing}/telemetry', 'devices/tracker/A/telemetry'],
    ['fleet/things/{thing}/shadow/*', 'fleet/things/A/shadow/*'],
    ['{thing}', 'A'],
  ])('resolves %s to %s', (template, expected) => {
    expect(resolveResource(template, { thingName: 'A', thingType: 'tracker' })).toBe(expected);
  });

  it('templates every resource on the connecting thing, but for the per-connection CreateCertificateFromCsr API', () => {
    // Act
    const resources = DEVICE_PERMISSIONS.flatMap((permission) => permission.resources);
    const shared = resources.filter((resource) => !resource.includes('{thing}'));

    // Assess: IoT Core answers CreateCertificateFromCsr on the asking connection only.
    expect(resources.length).toBeGreaterThan(shared.length);
    expect(new Set(shared)).toEqual(
      new Set(['$aws/certificates/create-from-csr/json', '$aws/certificates/create-from-csr/json/*']),
    );
  });

  it('grants Connect only on the thing name itself, and only to a certificate attached to it', () => {
    expect(DEVICE_PERMISSIONS.filter((p) => p.action === 'Connect')).toEqual([
      { action: 'Connect', resources: ['{thing}'], requiresAttachedThing: true },
    ]);
  });

  it.each<[string, boolean | undefined, boolean]>([
    ['attached', true, true],
    ['not attached', false, false],
    ['attachment unknown', undefined, false],
  ])('a certificate %s to thing A may connect as A: %s', (_case, attached, expected) => {
    // Prepare
    const allows = compileDevicePolicy({
      thingName: 'A',
      thingType: 'tracker',
      ...(attached === undefined ? {} : { attached }),
    });

    // Act
    const decision = allows('Connect', 'A');

    // Assess
    expect(decision).toBe(expected);
  });

  it.each<[string, string, boolean]>([
    ['a named shadow get', 'fleet/things/A/shadow/name/cfg/get', true],
    ['a named shadow update response', 'fleet/things/A/shadow/name/cfg/update/accepted', false],
    ['a named shadow delta', 'fleet/things/A/shadow/name/cfg/update/delta', false],
    ['a named shadow documents', 'fleet/things/A/shadow/name/cfg/update/documents', false],
    ['a classic delete response', 'fleet/things/A/shadow/delete/rejected', false],
  ])('merged shadow request resources: publish %s → %s', (_case, topic, expected) => {
    const allows = compileDevicePolicy({ thingName: 'A', thingType: 'tracker', attached: true });
    expect(allows('Publish', topic)).toBe(expected);
  });
});

describe('policy wildcards, matched without a regular expression per connection', () => {
  /** The IoT policy wildcard semantics, written the obvious way, as the reference. */
  const reference = (glob: string, resource: string) =>
    new RegExp(
      `^${glob
        .replace(/[.+^${}()|[\]\\#]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
      's',
    ).test(resource);

  it.each<[string, string, boolean]>([
    ['a/*', 'a/b/c', true],
    ['a/*', 'a/', true],
    ['a/*', 'a', false],
    ['*/x/*/y', 'p/q/x/r/x/s/y', true],
    ['*/x/*/y', 'p/x/y', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['a.c', 'abc', false],
    ['a+b/#', 'a+b/#', true],
    ['{thing}/*', 'A/x', true],
    ['{thing}/*', 'AB/x', false],
    ['{thingType}-{thing}', 'tracker-A', true],
    ['*{thing}', 'xxA', true],
    ['*{thing}?', 'xxAz', true],
    ['*{thing}?', 'xxA', false],
  ])('%s against %s: %s', (resource, topic, expected) => {
    // Prepare
    const allows = compileDevicePolicy({ thingName: 'A', thingType: 'tracker' }, [
      { action: 'Publish', resources: [resource] },
    ]);

    // Act
    const decision = allows('Publish', topic);

    // Assess
    expect(decision).toBe(expected);
  });

  it('agrees with the regular-expression reference on 5,000 generated pairs', () => {
    // Prepare: a small alphabet, so that stars and question marks often have several ways to match.
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const word = (alphabet: string, max: number) =>
      Array.from({ length: next(max + 1) }, () => alphabet[next(alphabet.length)]).join('');
    const identity = { thingName: 'ab', thingType: 't/' };
    let disagreements = 0;
    let allowed = 0;

    // Act
    for (let i = 0; i < 5000; i++) {
      const template = word('ab/*?.', 6).replace(/\.\./, '{thing}').replace(/\.\//, '{thingType}');
      const resource = word('ab/.t', 8);
      const decision = compileDevicePolicy(identity, [{ action: 'Receive', resources: [template] }])(
        'Receive',
        resource,
      );
      allowed += decision ? 1 : 0;
      if (decision !== reference(resolveResource(template, identity), resource)) disagreements++;
    }

    // Assess: both outcomes were exercised, and never differently from the reference.
    expect(allowed).toBeGreaterThan(100);
    expect(disagreements).toBe(0);
  });
});
