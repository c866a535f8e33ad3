import type { Access, FunctionSpec, Resource, Topology } from './model.ts';

/** Splits a camelCase or punctuated name into lower-case words: `firmwareImages` → `firmware`, `images`. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/** `registry` → `REGISTRY`, `firmwareImages` → `FIRMWARE_IMAGES`. */
export function screamingSnake(name: string): string {
  return words(name).join('_').toUpperCase();
}

/** `firmwareImages` → `firmware-images`. */
export function kebabCase(name: string): string {
  return words(name).join('-');
}

/**
 * The physical name of a table (and the base of a bucket's) in a stage: `fleetkit-<stage>-<kebab name>`.
 * The CDK app and the local platform (stage `local`) both name resources with it.
 */
export function stageResourceName(stage: string, resourceName: string): string {
  return `fleetkit-${stage}-${kebabCase(resourceName)}`;
}

/**
 * The alias of a signing key in a stage, `alias/fleetkit-<stage>-<kebab name>`: what functions pass as
 * KMS `KeyId` (KMS accepts an alias name wherever it takes a key id), in AWS and locally alike.
 */
export function signingKeyAlias(stage: string, resourceName: string): string {
  return `alias/${stageResourceName(stage, resourceName)}`;
}

/** Longest provisioning template name IoT accepts (CreateProvisioningTemplate). */
const TEMPLATE_NAME_MAX = 36;

/**
 * The names of a provisioning-hook template in a stage: the template `fleetkit-<stage>-<template>` and
 * the IoT policy of its claim certificates, `fleetkit-<stage>-<template>-claim`. The CDK app and the local
 * platform (stage `local`) both name them with it.
 *
 * @throws Error when the template name would be longer than IoT allows
 */
export function provisioningTemplateNames(
  stage: string,
  template: string,
): { readonly templateName: string; readonly claimPolicyName: string } {
  const templateName = stageResourceName(stage, template);
  if (templateName.length > TEMPLATE_NAME_MAX) {
    throw new Error(
      `provisioning template names allow ${TEMPLATE_NAME_MAX} characters; '${templateName}' has ${templateName.length}`,
    );
  }
  return { templateName, claimPolicyName: `${templateName}-claim` };
}

/** The env var through which a function learns a resource's physical name: `REGISTRY_TABLE_NAME`, `SHADOW_TOPICS_TOPIC_FILTER`, `FIRMWARE_SIGNING_KEY_ID`. */
export function resourceEnvName(resourceName: string, resource: Resource): string {
  const suffix = {
    table: 'TABLE_NAME',
    bucket: 'BUCKET_NAME',
    topics: 'TOPIC_FILTER',
    stream: 'STREAM_TOPIC',
    signingKey: 'KEY_ID',
    things: 'POLICY_NAME',
  }[resource.kind];
  return `${screamingSnake(resourceName)}_${suffix}`;
}

/**
 * The name a resource has in every deployment: an MQTT topic filter or a Kafka topic is the same in AWS
 * and locally. Tables and buckets are named per stage instead (undefined here).
 */
export function fixedResourceName(resource: Resource): string | undefined {
  if (resource.kind === 'topics') return resource.filter;
  if (resource.kind === 'stream') return resource.topic;
  return undefined;
}

/** The resources a function uses, with their access, in declaration order. */
export function usesOf<R extends string>(
  topology: Topology<R>,
  fn: FunctionSpec<R>,
): Array<{ name: R; resource: Resource; access: Access }> {
  return Object.entries(fn.uses ?? {}).map(([name, access]) => {
    const resource = Object.hasOwn(topology.resources, name) ? topology.resources[name as R] : undefined;
    if (resource === undefined) throw new Error(`function ${fn.handler} uses unknown resource '${name}'`);
    return { name: name as R, resource, access: access as Access };
  });
}

/**
 * The env a function receives: its settings (defaults, or the deployment's overrides), and one
 * `<RESOURCE>_<KIND>_NAME` per resource it uses — nothing for resources it does not use, in both runtimes.
 *
 * @param physicalName resolves a resource to its physical name (a CDK token in AWS, a string locally)
 */
export function functionEnv<R extends string>(
  topology: Topology<R>,
  fn: FunctionSpec<R>,
  physicalName: (name: R, resource: Resource) => string,
  overrides: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  // Only settings the function declares can be overridden: a typo in a deployment is not silently ignored
  // by one function while another picks it up.
  for (const [key, value] of Object.entries(fn.settings ?? {})) env[key] = overrides[key] ?? value;
  for (const { name, resource } of usesOf(topology, fn))
    env[resourceEnvName(name, resource)] = physicalName(name, resource);
  return env;
}
