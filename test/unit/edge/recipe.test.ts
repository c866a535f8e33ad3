import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AGENT_ENV, readAgentSettings } from '../../../edge/src/agent/settings.ts';
import { TRANSPORT_ENV } from '../../../edge/src/transport/open-transport.ts';
import { DEFAULT_DEVICE_CONFIG, MAX_SAMPLING_INTERVAL_S } from '../../../lib/protocol/device-config.ts';
import { DEVICE_PERMISSIONS, type DeviceAction } from '../../../lib/protocol/device-policy.ts';
import { THING_TYPE_PATTERN } from '../../../lib/protocol/topics.ts';
import {
  agentDoes,
  cleanUpRuns,
  type RecipeRunOptions,
  runRecipeScript,
  signalAfter,
} from '../../support/recipe-run-script.ts';

/**
 * edge/recipe.yaml against the Greengrass recipe reference
 * (https://docs.aws.amazon.com/greengrass/v2/developerguide/component-recipe-reference.html), the IPC
 * authorization of `aws.greengrass.ipc.mqttproxy`
 * (https://docs.aws.amazon.com/greengrass/v2/developerguide/ipc-iot-core-mqtt.html) and fleetkit's own
 * device policy, which the recipe's accessControl must mirror for the core's thing.
 */

interface Policy {
  policyDescription?: string;
  operations: string[];
  resources: string[];
}
interface Artifact {
  URI: string;
  Unarchive?: string;
  Permission?: { Read?: string; Execute?: string };
}
interface Recipe {
  RecipeFormatVersion: string;
  ComponentName: string;
  ComponentVersion: string;
  ComponentConfiguration: {
    DefaultConfiguration: Record<string, unknown> & {
      thingType: string;
      samplingIntervalS: number;
      accessControl: Record<string, Record<string, Policy>>;
    };
  };
  Manifests: { Platform: { os: string; architecture: string }; Artifacts: Artifact[]; Lifecycle?: unknown }[];
  Lifecycle: {
    Setenv: Record<string, string>;
    Install: { Script: string; Timeout?: number };
    Run: { Script: string };
  };
}

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const recipe = parse(read('edge/recipe.yaml')) as Recipe;
const gdk = JSON.parse(read('edge/gdk-config.json')) as {
  component: Record<
    string,
    { version: string; build: { build_system: string; custom_build_command: string[] } }
  >;
};
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
const defaults = recipe.ComponentConfiguration.DefaultConfiguration;
const mqttProxy = defaults.accessControl['aws.greengrass.ipc.mqttproxy'] ?? {};
const policies = Object.values(mqttProxy);
const PUBLISH = 'aws.greengrass#PublishToIoTCore';
const SUBSCRIBE = 'aws.greengrass#SubscribeToIoTCore';

function resourcesFor(operation: string): string[] {
  return policies.filter((p) => p.operations.includes(operation)).flatMap((p) => p.resources);
}

/**
 * The device IoT policy's resources for one action, spelled as IPC resources for the core: `{thing}` is
 * the recipe variable, `{thingType}` the default type, and IoT policy wildcards become MQTT ones — a
 * `*` segment inside a topic is one level (`+`), a trailing `/*` the rest (`/#`).
 */
function expectedFromDevicePolicy(action: DeviceAction): string[] {
  return (
    DEVICE_PERMISSIONS.filter((p) => p.action === action)
      .flatMap((p) => p.resources)
      // A core device's certificate is the nucleus's: the agent does not rotate it, so a core gets
      // neither fleetkit's identity requests nor AWS's CreateCertificateFromCsr.
      .filter((resource) => !resource.includes('/identity/') && !resource.startsWith('$aws/'))
      // IPC resources are MQTT filters: `shadow/*get` (classic and named) is two of them.
      .flatMap((resource) =>
        /\/shadow\/\*\w+$/.test(resource)
          ? [resource.replace('/shadow/*', '/shadow/'), resource.replace('/shadow/*', '/shadow/name/+/')]
          : [resource],
      )
      .map((resource) =>
        resource
          .replaceAll('{thing}', '{iot:thingName}')
          .replaceAll('{thingType}', defaults.thingType)
          .replace(/\/\*$/, '/#')
          .replaceAll('/*/', '/+/'),
      )
  );
}

/** MQTT topic-filter matching, as the nucleus applies a resource to a requested topic. */
function mqttMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/** What the nucleus would allow core-1 to do, with `{iot:thingName}` interpolated. */
function allows(operation: string, topic: string, thingName = 'core-1'): boolean {
  return resourcesFor(operation).some((r) => mqttMatches(r.replaceAll('{iot:thingName}', thingName), topic));
}

describe('recipe.yaml: identity', () => {
  it('is recipe format 2020-01-25', () => {
    expect(recipe.RecipeFormatVersion).toBe('2020-01-25');
  });

  it('names the component and a semantic version, the same as gdk-config.json', () => {
    // Assess
    expect(recipe.ComponentName).toBe('com.fleetkit.EdgeAgent');
    expect(recipe.ComponentVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Object.keys(gdk.component)).toEqual([recipe.ComponentName]);
    expect(gdk.component[recipe.ComponentName]?.version).toBe(recipe.ComponentVersion);
  });

  it('is built by gdk with the custom build that npm run build:edge is', () => {
    // Assess
    const build = gdk.component[recipe.ComponentName]?.build;
    expect(build?.build_system).toBe('custom');
    expect(build?.custom_build_command).toEqual(['npm', 'run', 'build:edge']);
    expect(scripts['build:edge']).toBe('tsx edge/build/cli.ts');
  });
});

describe('recipe.yaml: default configuration', () => {
  it('has a thing type AWS IoT accepts and the protocol default sampling interval', () => {
    expect(defaults.thingType).toMatch(THING_TYPE_PATTERN);
    expect(defaults.samplingIntervalS).toBe(DEFAULT_DEVICE_CONFIG.samplingIntervalS);
    expect(defaults.samplingIntervalS).toBeLessThanOrEqual(MAX_SAMPLING_INTERVAL_S);
  });

  it('is also the interval of an agent started without the recipe (standalone, nothing set)', () => {
    expect(readAgentSettings({}).samplingIntervalS).toBe(DEFAULT_DEVICE_CONFIG.samplingIntervalS);
  });

  it.each(Object.entries(recipe.Lifecycle.Setenv))(
    'passes %s from a key that exists, to a variable the agent reads',
    (name, value) => {
      // Assess: a typo on either side would be silently ignored on the device.
      const known = new Set<string>([...Object.values(AGENT_ENV), ...Object.values(TRANSPORT_ENV)]);
      expect(known.has(name), `${name} is not read by the agent`).toBe(true);
      for (const [, key] of value.matchAll(/\{configuration:\/([^}]+)\}/g)) {
        expect(Object.keys(defaults), `{configuration:/${key}}`).toContain(key);
      }
    },
  );

  it('runs the agent over Greengrass IPC', () => {
    expect(recipe.Lifecycle.Setenv[TRANSPORT_ENV.mode]).toBe('greengrass');
  });
});

describe('recipe.yaml: accessControl', () => {
  it('grants only aws.greengrass.ipc.mqttproxy', () => {
    expect(Object.keys(defaults.accessControl)).toEqual(['aws.greengrass.ipc.mqttproxy']);
  });

  it('names each policy after the component and describes it', () => {
    for (const [id, policy] of Object.entries(mqttProxy)) {
      expect(id.startsWith(`${recipe.ComponentName}:mqttproxy:`)).toBe(true);
      expect(policy.policyDescription?.length ?? 0).toBeGreaterThan(10);
    }
  });

  it('allows only PublishToIoTCore and SubscribeToIoTCore, never *', () => {
    const operations = policies.flatMap((p) => p.operations);
    expect(new Set(operations)).toEqual(new Set([PUBLISH, SUBSCRIBE]));
  });

  it('scopes every resource to {iot:thingName} in the thing position, with no * anywhere', () => {
    // Assess
    const resources = policies.flatMap((p) => p.resources);
    expect(resources.length).toBeGreaterThan(0);
    for (const resource of resources) {
      expect(resource).not.toContain('*');
      const segments = resource.split('/');
      const thingSegment =
        segments[0] === 'devices' ? segments[2] : segments[0] === 'fleet' ? segments[2] : undefined;
      expect(thingSegment, resource).toBe('{iot:thingName}');
    }
  });

  it('publishes exactly what the device IoT policy lets a device publish', () => {
    expect(new Set(resourcesFor(PUBLISH))).toEqual(new Set(expectedFromDevicePolicy('Publish')));
  });

  it('subscribes exactly to what the device IoT policy lets a device subscribe to', () => {
    expect(new Set(resourcesFor(SUBSCRIBE))).toEqual(new Set(expectedFromDevicePolicy('Subscribe')));
  });

  it.each([
    [PUBLISH, 'devices/edge-gateway/core-1/telemetry', true],
    [PUBLISH, 'devices/edge-gateway/core-1/status', true],
    [PUBLISH, 'fleet/things/core-1/shadow/update', true],
    [PUBLISH, 'fleet/things/core-1/shadow/name/modem/update', true],
    [PUBLISH, 'fleet/things/core-1/jobs/start-next', true],
    [PUBLISH, 'fleet/things/core-1/jobs/job-42/update', true],
    [PUBLISH, 'devices/edge-gateway/core-2/telemetry', false],
    [PUBLISH, 'devices/edge-gateway/core-1/commands', false],
    [PUBLISH, 'fleet/things/core-2/shadow/update', false],
    [PUBLISH, 'fleet/things/core-1/shadow/update/accepted', false],
    [PUBLISH, 'fleet/things/core-1/jobs/notify-next', false],
    [SUBSCRIBE, 'devices/edge-gateway/core-1/commands', true],
    [SUBSCRIBE, 'fleet/things/core-1/shadow/update/delta', true],
    [SUBSCRIBE, 'fleet/things/core-1/shadow/name/modem/update/accepted', true],
    [SUBSCRIBE, 'fleet/things/core-1/jobs/notify-next', true],
    [SUBSCRIBE, 'devices/edge-gateway/core-2/commands', false],
    [SUBSCRIBE, 'devices/edge-gateway/core-1/telemetry', false],
    [SUBSCRIBE, 'fleet/things/core-2/shadow/update/delta', false],
    [SUBSCRIBE, 'fleet/things/core-2/jobs/notify-next', false],
  ])('%s on %s by core-1: %s', (operation, topic, allowed) => {
    expect(allows(operation, topic)).toBe(allowed);
  });
});

describe('recipe.yaml: manifests and lifecycle', () => {
  it('targets linux amd64 and aarch64, the architectures the artifact carries binaries for', () => {
    expect(recipe.Manifests.map((m) => m.Platform)).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'aarch64' },
    ]);
  });

  it.each(recipe.Manifests.map((m) => [m.Platform.architecture, m] as const))(
    '%s: one S3 artifact, fleetkit-edge.zip, unarchived as ZIP, not writable or executable',
    (_arch, manifest) => {
      expect(manifest.Artifacts).toEqual([
        {
          URI: 's3://BUCKET_NAME/COMPONENT_NAME/COMPONENT_VERSION/fleetkit-edge.zip',
          Unarchive: 'ZIP',
          Permission: { Read: 'OWNER', Execute: 'NONE' },
        },
      ]);
      expect(manifest.Lifecycle).toBeUndefined();
    },
  );

  it('checks for Node.js 20 or later at install, with a message saying what to install', () => {
    const { Script } = recipe.Lifecycle.Install;
    expect(Script).toContain('command -v node');
    expect(Script).toContain('major < 20');
    expect(Script).toContain('install Node.js 20 or later');
  });

  afterEach(cleanUpRuns);

  /** The recipe's Run script with a stand-in `node` doing `behaviours`, one per start. */
  const runScript = (behaviours: readonly string[], options?: RecipeRunOptions) =>
    runRecipeScript(recipe.Lifecycle.Run.Script, behaviours, options);

  it('runs the bundled agent from the unpacked archive, source maps on, and starts it again on exit code 75', async () => {
    // Prepare
    const run = runScript([agentDoes.exit(75), agentDoes.exit(75), agentDoes.exit(0)]);

    // Act
    const code = await run.exited;

    // Assess
    expect(run.survivors()).toEqual([]);
    expect(code).toBe(0);
    expect(run.starts()).toEqual(Array(3).fill(`--enable-source-maps ${run.dir}/fleetkit-edge/agent.mjs`));
  });

  it('passes any other exit code on to Greengrass, without a restart', async () => {
    // Prepare
    const run = runScript([agentDoes.exit(3), agentDoes.exit(0)]);

    // Act
    const code = await run.exited;

    // Assess
    expect(run.survivors()).toEqual([]);
    expect(code).toBe(3);
    expect(run.starts()).toHaveLength(1);
  });

  it.each([
    ['', undefined],
    [', even with a work folder it cannot write to', '/nonexistent/fleetkit-work'],
  ])("passes the nucleus' SIGTERM on to the agent and ends cleanly%s", async (_, workPath) => {
    // Prepare
    const run = runScript([agentDoes.runUntilTerm], { workPath });
    while (run.starts().length === 0) await new Promise((r) => setTimeout(r, 20));

    // Act
    run.child.kill('SIGTERM');
    const code = await run.exited;

    // Assess
    expect(run.survivors()).toEqual([]);
    expect(code).toBe(0);
    expect(run.terms()).toBe(1);
  });

  it('SIGTERM between `node … &` and `agent=$!`: the agent just started is stopped, nothing outlives the script', async () => {
    // Prepare
    const run = runScript([agentDoes.runUntilTerm], {
      edit: signalAfter(/^.*\bnode --enable-source-maps .*&$/m),
    });

    // Act
    const code = await run.exited;

    // Assess: whether the agent had installed its handler yet or not, it is gone and the stop is clean.
    expect(run.survivors()).toEqual([]);
    expect(code).toBe(0);
  });

  it('SIGTERM before the first start: no agent is started, ends cleanly', async () => {
    // Prepare
    const run = runScript([agentDoes.runUntilTerm], { edit: signalAfter(/^trap .*$/m) });

    // Act
    const code = await run.exited;

    // Assess
    expect(run.survivors()).toEqual([]);
    expect(code).toBe(0);
    expect(run.starts()).toEqual([]);
  });

  it('SIGTERM while the agent asks for a restart: no restart, ends cleanly', async () => {
    // Prepare
    const run = runScript([agentDoes.restartWhileStopped, agentDoes.runUntilTerm]);

    // Act
    const code = await run.exited;

    // Assess
    expect(run.survivors()).toEqual([]);
    expect(code).toBe(0);
    expect(run.starts()).toHaveLength(1);
  });

  it('keeps the agent data in the work folder and reads the model from the archive', () => {
    expect(recipe.Lifecycle.Setenv[AGENT_ENV.dataDir]).toBe('{work:path}/data');
    expect(recipe.Lifecycle.Setenv[AGENT_ENV.modelDir]).toBe(
      '{artifacts:decompressedPath}/fleetkit-edge/model',
    );
  });
});
