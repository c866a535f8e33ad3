import { claimPermissions, claimProvisioningTemplate } from '../../protocol/claim-policy.ts';
import type { DevicePermission } from '../../protocol/device-policy.ts';
import { provisioningTemplateNames } from '../../topology/env.ts';
import type { Topology } from '../../topology/model.ts';
import type { ReservedApi } from '../broker.ts';
import type { LocalFunction } from '../functions.ts';
import { LOCAL_DEVICE_POLICY_NAME, LOCAL_REGION, LOCAL_STAGE } from '../names.ts';
import type { CertifiedKey, LocalPki } from '../pki.ts';
import { LOCAL_ACCOUNT_ID } from '../signing-keys.ts';
import type { OwnershipTokens } from './ownership-tokens.ts';
import { platformClaimCredentials } from './platform-credentials.ts';
import { type LocalProvisioningTemplate, registerThingApi } from './register-thing.ts';
import type { LocalIotRegistry } from './registry.ts';

/** The local platform's fleet provisioning, from the topology's `provisioningHooks`. */
export interface LocalClaimProvisioning {
  /** The claim policies, by name, to open the IoT registry with. */
  readonly policies: Readonly<Record<string, readonly DevicePermission[]>>;
  /** The broker's RegisterThing API. */
  registerThing(registry: LocalIotRegistry, tokens: OwnershipTokens): ReservedApi;
  /** Called once the functions are loaded: until then RegisterThing is denied (no hook to ask). */
  hooksLoaded(functions: ReadonlyMap<string, LocalFunction>): void;
  /** A template's claim certificate, registered with its claim policy. */
  claimCredentials(
    registry: LocalIotRegistry,
    pki: LocalPki,
    template: string,
  ): Promise<CertifiedKey & { caPem: string; templateName: string }>;
}

/**
 * The provisioning templates the CDK app makes from the topology, locally: for each function with a
 * provisioning hook, fleetkit's claim template (`fleetkit-local-<template>`, the device policy attached
 * to what it provisions) with that function as its hook, and the claim policy of its claim certificates.
 */
export function localClaimProvisioning(topology: Topology): LocalClaimProvisioning {
  const hooks = Object.entries(topology.functions).flatMap(([functionName, spec]) =>
    (spec.provisioningHooks ?? []).map((hook) => ({
      functionName,
      template: hook.template,
      ...provisioningTemplateNames(LOCAL_STAGE, hook.template),
    })),
  );
  let loaded: ReadonlyMap<string, LocalFunction> = new Map();
  const templates = new Map<string, LocalProvisioningTemplate>(
    hooks.map((h) => [
      h.templateName,
      {
        templateArn: `arn:aws:iot:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:provisioningtemplate/${h.templateName}`,
        body: claimProvisioningTemplate(LOCAL_DEVICE_POLICY_NAME),
        hook: async (event) => {
          const fn = loaded.get(h.functionName);
          if (fn === undefined) throw new Error(`hook function '${h.functionName}' is not loaded yet`);
          return fn.invoke(event);
        },
      },
    ]),
  );
  return {
    policies: Object.fromEntries(hooks.map((h) => [h.claimPolicyName, claimPermissions(h.templateName)])),
    registerThing: (registry, tokens) => registerThingApi({ registry, tokens, templates: () => templates }),
    hooksLoaded: (functions) => {
      loaded = functions;
    },
    async claimCredentials(registry, pki, template) {
      const names = hooks.find((h) => h.template === template);
      if (names === undefined)
        throw new Error(`no function of the topology is the provisioning hook of template '${template}'`);
      const credentials = await platformClaimCredentials(registry, pki, template, names.claimPolicyName);
      return { ...credentials, templateName: names.templateName };
    },
  };
}
