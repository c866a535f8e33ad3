import * as z from 'zod';
import { firmwareJobDocument, statusDetails } from '../../../lib/protocol/jobs.ts';
import type { BootState, SlotName } from './ports.ts';

/**
 * The agent's own durable state, and the pure decision of what to do next from it and the boot
 * state. The agent saves this file (atomically) before every step that the device cannot take back,
 * so a power cut between any two steps leaves a file that, read together with the bootloader's
 * state, says exactly where the update stands.
 */

const slotName = z.enum(['a', 'b']);

/** The job being worked on: enough to resume it and to report on it after a restart. */
const jobRef = z.object({
  jobId: z.string().min(1),
  /** Last execution version the device knows (for `expectedVersion`); may be stale after a restart. */
  versionNumber: z.number().int().min(0),
  document: firmwareJobDocument,
  /** The inactive slot the image goes to. */
  target: slotName,
  /** The slot that was committed when the job started: where a failed update goes back to. */
  previous: slotName,
  /** Version running when the job started. */
  previousVersion: z.string().optional(),
  /** The signed manifest's anti-rollback counter: the floor rises to it when the update commits. */
  securityVersion: z.number().int().min(0).optional(),
  /** The rollback authorization the job uses, remembered once it commits so it cannot be replayed. */
  grant: z.object({ digest: z.string(), expiresAt: z.number().int() }).optional(),
});
export type JobRef = z.output<typeof jobRef>;

export const agentState = z.discriminatedUnion('phase', [
  z.object({ phase: z.literal('idle') }),
  /** Image going into `target`; resumes from what is there. */
  z.object({ phase: z.literal('downloading'), job: jobRef }),
  /** Image verified; the install hook and the pending mark come next. */
  z.object({ phase: z.literal('installing'), job: jobRef }),
  /** `target` marked to be tried once; a reboot into it, then its health check, come next. */
  z.object({ phase: z.literal('rebooting'), job: jobRef }),
  /** Health check failed (or the job ended during the trial): back to `previous`, then report. */
  z.object({
    phase: z.literal('rolling-back'),
    job: jobRef,
    detail: z.string(),
    /** False when the job already ended elsewhere (canceled): nothing left to report. */
    report: z.boolean(),
  }),
  /** The outcome is decided and must reach the cloud, however many restarts that takes. */
  z.object({
    phase: z.literal('reporting'),
    jobId: z.string().min(1),
    versionNumber: z.number().int().min(0),
    status: z.enum(['SUCCEEDED', 'FAILED', 'REJECTED']),
    statusDetails,
  }),
]);
export type AgentState = z.output<typeof agentState>;
export type AgentPhase = AgentState['phase'];

/** What the agent does next. */
export type NextAction =
  /** Ask for the next job. */
  | { readonly kind: 'start-next' }
  /** Download (resuming) and verify. */
  | { readonly kind: 'download' }
  /** Run the install hook and mark the target pending. */
  | { readonly kind: 'install' }
  /** Reboot into the pending target. */
  | { readonly kind: 'reboot' }
  /** This is the target's trial boot: check health, then commit or roll back. */
  | { readonly kind: 'health-check' }
  /** The outcome is known: clear any pending mark and move to reporting (or idle). */
  | {
      readonly kind: 'conclude';
      readonly outcome: 'SUCCEEDED' | 'FAILED' | 'ABANDONED';
      readonly detail: string;
    }
  /** Send the outcome. */
  | { readonly kind: 'report' }
  /** The slots are in a state no job explains: clear the pending mark, reboot if not on the committed slot. */
  | { readonly kind: 'repair'; readonly reboot: boolean }
  /** Roll back the slots and reboot into the committed one. */
  | { readonly kind: 'reboot-to-committed' };

/**
 * Decides the next step from the agent's state and the bootloader's: the single place that knows how
 * to continue after a restart at any point. Pure.
 */
export function decideNext(state: AgentState, boot: BootState): NextAction {
  switch (state.phase) {
    case 'idle':
      if (boot.pending !== undefined || boot.booted !== boot.committed) {
        return { kind: 'repair', reboot: boot.booted !== boot.committed };
      }
      return { kind: 'start-next' };
    case 'downloading':
    case 'installing':
      // A pending mark on the target means the step after these (mark pending) happened before a
      // power cut that kept the phase from being saved: continue as the rebooting phase would.
      if (boot.pending?.slot === state.job.target || boot.committed === state.job.target) {
        return afterInstall(state.job.target, boot);
      }
      return { kind: state.phase === 'downloading' ? 'download' : 'install' };
    case 'rebooting':
      return afterInstall(state.job.target, boot);
    case 'rolling-back':
      if (boot.booted === state.job.target) return { kind: 'reboot-to-committed' };
      return { kind: 'conclude', outcome: state.report ? 'FAILED' : 'ABANDONED', detail: state.detail };
    case 'reporting':
      return { kind: 'report' };
  }
}

function afterInstall(target: SlotName, boot: BootState): NextAction {
  if (boot.committed === target && boot.pending === undefined) {
    return { kind: 'conclude', outcome: 'SUCCEEDED', detail: `committed slot ${target}` };
  }
  if (boot.pending?.slot === target) {
    if (boot.booted === target) return { kind: 'health-check' };
    if (boot.pending.triesLeft > 0) return { kind: 'reboot' };
  }
  // The one trial boot is spent and nobody committed it: the new firmware crashed, hung, or lost
  // power before its health check passed, and the bootloader went back to the committed slot.
  return {
    kind: 'conclude',
    outcome: 'FAILED',
    detail: `slot ${target} did not confirm its trial boot (crash, hang or power loss); running slot ${boot.booted}`,
  };
}

/** The slot an update of a device in `boot` writes to. */
export function targetSlotFor(boot: BootState): SlotName {
  return boot.booted === 'a' ? 'b' : 'a';
}
