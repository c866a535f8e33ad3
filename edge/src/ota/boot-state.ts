import type { BootState, SlotName } from './ports.ts';

/**
 * The bootloader's rules as pure transitions on {@link BootState}, shared by the slot stores. They
 * follow RAUC's grub integration (a slot is booted if it is OK and not yet tried; the first boot of
 * a new slot spends its try; `mark-good` keeps it) and Mender's `upgrade_available`/`bootcount`:
 * a new slot gets exactly one trial boot, and only an explicit commit makes it the default.
 */

/** A slot operation that would break the A/B guarantees (write the running image, commit without a trial, ...). */
export class SlotStateError extends Error {
  override readonly name = 'SlotStateError';
}

/** A fresh device: slot a committed and booted, holding `version`. */
export function initialBootState(version?: string): BootState {
  return { booted: 'a', committed: 'a', versions: version === undefined ? {} : { a: version } };
}

/** Power-on: try the pending slot if it has a try left (spending it), else boot the committed one. */
export function bootTransition(state: BootState): BootState {
  const { pending } = state;
  if (pending !== undefined && pending.triesLeft > 0) {
    return {
      ...state,
      booted: pending.slot,
      pending: { slot: pending.slot, triesLeft: pending.triesLeft - 1 },
    };
  }
  return { ...state, booted: state.committed };
}

/** Throws unless `slot` may be overwritten: never the booted slot, never the committed one. */
export function assertWritable(state: BootState, slot: SlotName): void {
  if (slot === state.booted || slot === state.committed) {
    throw new SlotStateError(
      `slot ${slot} is ${slot === state.booted ? 'running' : 'the committed fallback'}: refusing to write it`,
    );
  }
}

/** Marks `slot` to be tried once on the next boot. */
export function markPendingTransition(state: BootState, slot: SlotName, version: string): BootState {
  assertWritable(state, slot);
  return { ...state, pending: { slot, triesLeft: 1 }, versions: { ...state.versions, [slot]: version } };
}

/** Keeps the booted slot: only legal on the trial boot of the pending slot. */
export function commitTransition(state: BootState): BootState {
  if (state.pending?.slot !== state.booted) {
    if (state.committed === state.booted && state.pending === undefined) return state;
    throw new SlotStateError(`slot ${state.booted} is not on its trial boot: nothing to commit`);
  }
  const { pending: _cleared, ...rest } = state;
  return { ...rest, committed: state.booted };
}

/** Drops the pending mark: the next boot starts the committed slot. */
export function rollbackTransition(state: BootState): BootState {
  const { pending: _cleared, ...rest } = state;
  return rest;
}
