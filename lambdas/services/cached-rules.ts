import { DEFAULT_RULES, type TelemetryRule } from '../../lib/protocol/telemetry-rules.ts';
import type { RuleStore } from '../ports.ts';

/**
 * The telemetry rules, read from the rules table at most once a minute per execution environment.
 * An empty table means the built-in defaults (the seed's HIGH_TEMPERATURE among them).
 */
export function cachedRules(
  store: RuleStore,
  now: () => number,
  ttlMs = 60_000,
): () => Promise<readonly TelemetryRule[]> {
  let cached: { at: number; rules: readonly TelemetryRule[] } | undefined;
  return async () => {
    if (cached !== undefined && now() - cached.at < ttlMs) return cached.rules;
    const stored = await store.list();
    cached = { at: now(), rules: stored.length > 0 ? stored : DEFAULT_RULES };
    return cached.rules;
  };
}
