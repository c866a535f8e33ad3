import { SHADOW_CONFIG_ERRORS_KEY, SHADOW_CONFIG_KEY } from '../../../lib/protocol/device-config.ts';
import { createMergePatch, type JsonObject, type JsonValue, toReportable } from './json.ts';
import type { DeviceStateProviders, ShadowLocalCopy } from './ports.ts';

/** What the device reports under `state.reported`, and how it differs from the cloud's copy. */

/** Sections of `state.reported` this device owns; everything else in the document is left alone. */
const PROVIDED_SECTIONS = ['firmware', 'model', 'modem', 'health'] as const;

/** Which owned sections a report compares with the cloud's copy. */
export type ReportScope = 'config' | 'all';

/** What this device wants in `state.reported`, by owned section; `undefined` means absent. */
export async function reportTarget(
  copy: ShadowLocalCopy,
  providers: DeviceStateProviders | undefined,
  scope: ReportScope,
  log: (event: string, fields: Readonly<Record<string, unknown>>) => void,
): Promise<Map<string, JsonValue | undefined>> {
  const target = new Map<string, JsonValue | undefined>([
    [SHADOW_CONFIG_KEY, copy.config],
    [SHADOW_CONFIG_ERRORS_KEY, copy.refused?.report],
  ]);
  if (scope === 'config') return target;
  for (const section of PROVIDED_SECTIONS) {
    const provider = providers?.[section];
    if (provider === undefined) continue;
    try {
      const value = await provider();
      if (value !== undefined) target.set(section, toReportable(value));
    } catch (error) {
      // Left as the cloud has it; the other sections still go out.
      log('provider-failed', { section, error: String(error) });
    }
  }
  return target;
}

/** The merge patch (RFC 7396) that takes the cloud's copy of reported to `target`; empty if none. */
export function reportedPatch(
  target: ReadonlyMap<string, JsonValue | undefined>,
  cloudReported: JsonObject,
): Record<string, JsonValue> {
  const patch: Record<string, JsonValue> = {};
  for (const [key, value] of target) {
    const from = cloudReported[key];
    const change =
      value === undefined ? (from === undefined ? undefined : null) : createMergePatch(from, value);
    if (change !== undefined) patch[key] = change;
  }
  return patch;
}
