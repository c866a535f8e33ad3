import type { ShadowRecord, ShadowSections, UpdateRequest } from './document.ts';
import { isJsonObject, type JsonObject, jsonByteLength } from './json.ts';
import { mergeSection } from './merge.ts';

/**
 * How to undo one change: merge these values back (a `null` removes a key the change added), or
 * put a whole earlier state back (after `"state": null` or a delete).
 */
export type InverseChange =
  | { readonly merge: { readonly desired?: JsonObject; readonly reported?: JsonObject } }
  | { readonly replace: ShadowSections };

/** One change in a shadow's history: the version and state it produced, and how to undo it. */
export interface HistoryEntry {
  readonly version: number;
  readonly timestamp: number;
  readonly exists: boolean;
  readonly inverse: InverseChange;
}

/** A past version of a shadow's state, as the history shows it. */
export interface HistoryView {
  readonly version: number;
  readonly timestamp: number;
  readonly exists: boolean;
  readonly state: ShadowSections;
}

/** The values `patch` is about to overwrite in `previous`: merging them back undoes the merge. */
function inverseOfPatch(previous: JsonObject | undefined, patch: JsonObject): JsonObject {
  const inverse: JsonObject = {};
  for (const [key, value] of Object.entries(patch)) {
    const before = previous?.[key];
    // Object into object merges, so only what it touches needs undoing; anything else is put back whole.
    inverse[key] =
      isJsonObject(value) && isJsonObject(before)
        ? inverseOfPatch(before, value)
        : before === undefined
          ? null
          : before;
  }
  return inverse;
}

/** The inverse of an update, computed from the state before it (undefined: no live shadow). */
export function inverseOfUpdate(previous: ShadowRecord | undefined, request: UpdateRequest): InverseChange {
  const state = previous?.exists ? previous.state : {};
  if (request.state === null) return { replace: state };
  const merge: { desired?: JsonObject; reported?: JsonObject } = {};
  for (const section of ['desired', 'reported'] as const) {
    const patch = request.state[section];
    if (patch === undefined) continue;
    const before = state[section];
    if (patch === null) {
      // The section was removed: put back what it held (nothing, if it was already absent).
      if (before !== undefined) merge[section] = before;
      continue;
    }
    merge[section] = inverseOfPatch(before, patch);
  }
  return { merge };
}

/** The inverse of a delete: the whole state the shadow had. */
export function inverseOfDelete(previous: ShadowRecord): InverseChange {
  return { replace: previous.state };
}

/** Undoes one change on a state. Metadata is not rebuilt: history shows state, version and time. */
export function applyInverse(state: ShadowSections, inverse: InverseChange): ShadowSections {
  if ('replace' in inverse) return inverse.replace;
  const out: ShadowSections = { ...state };
  for (const section of ['desired', 'reported'] as const) {
    const patch = inverse.merge[section];
    if (patch === undefined) continue;
    const merged = mergeSection(out[section], undefined, patch, 0).state;
    if (Object.keys(merged).length === 0) delete out[section];
    else out[section] = merged;
  }
  return out;
}

/**
 * Appends an entry and keeps the newest ones within both bounds: at most `maxEntries`, and at most
 * `maxBytes` of inverse changes (large changes make the history shorter, never the item unbounded).
 */
export function appendHistory(
  entries: readonly HistoryEntry[],
  entry: HistoryEntry,
  bounds: { readonly maxEntries: number; readonly maxBytes: number },
): HistoryEntry[] {
  const kept: HistoryEntry[] = [entry];
  let bytes = jsonByteLength(entry.inverse);
  for (let i = entries.length - 1; i >= 0 && kept.length < bounds.maxEntries; i--) {
    const older = entries[i] as HistoryEntry;
    bytes += jsonByteLength(older.inverse);
    if (bytes > bounds.maxBytes) break;
    kept.unshift(older);
  }
  return kept;
}

/**
 * The states of the last changes, newest first, rebuilt from the current state by undoing one change
 * at a time.
 */
export function historyViews(
  current: ShadowRecord,
  entries: readonly HistoryEntry[],
  limit: number,
): HistoryView[] {
  const views: HistoryView[] = [];
  let state = current.state;
  for (let i = entries.length - 1; i >= 0 && views.length < limit; i--) {
    const entry = entries[i] as HistoryEntry;
    views.push({ version: entry.version, timestamp: entry.timestamp, exists: entry.exists, state });
    state = applyInverse(state, entry.inverse);
  }
  return views;
}
