import { describe, expect, it } from 'vitest';
import { type AgentState, decideNext, type JobRef } from '../../../../edge/src/ota/agent-state.ts';
import type { BootState } from '../../../../edge/src/ota/ports.ts';
import { firmwareDocument, makeImage, makeKey } from './support.ts';

const job: JobRef = {
  jobId: 'job-1',
  versionNumber: 2,
  document: firmwareDocument(makeImage(16), makeKey()),
  target: 'b',
  previous: 'a',
};
const versions = { a: '1.0.0', b: '2.0.0' };
const onA: BootState = { booted: 'a', committed: 'a', versions };
const pendingB: BootState = { booted: 'a', committed: 'a', pending: { slot: 'b', triesLeft: 1 }, versions };
const trialB: BootState = { booted: 'b', committed: 'a', pending: { slot: 'b', triesLeft: 0 }, versions };
const fellBack: BootState = { booted: 'a', committed: 'a', pending: { slot: 'b', triesLeft: 0 }, versions };
const committedB: BootState = { booted: 'b', committed: 'b', versions };
const onBUncommitted: BootState = { booted: 'b', committed: 'a', versions };

const reporting: AgentState = {
  phase: 'reporting',
  jobId: 'job-1',
  versionNumber: 3,
  status: 'FAILED',
  statusDetails: {},
};

describe('decideNext: what the agent does after a (re)start, from its state and the bootloader’s', () => {
  it.each<[string, AgentState, BootState, string]>([
    ['idle on a clean boot asks for a job', { phase: 'idle' }, onA, 'start-next'],
    ['idle with a stray pending mark clears it', { phase: 'idle' }, pendingB, 'repair'],
    ['idle on an uncommitted slot goes back', { phase: 'idle' }, onBUncommitted, 'repair+reboot'],
    ['downloading resumes the download', { phase: 'downloading', job }, onA, 'download'],
    ['installing installs', { phase: 'installing', job }, onA, 'install'],
    [
      'installing, but pending was marked before the cut: reboot',
      { phase: 'installing', job },
      pendingB,
      'reboot',
    ],
    [
      'installing, power lost after marking: this is the trial boot',
      { phase: 'installing', job },
      trialB,
      'health-check',
    ],
    ['rebooting, not rebooted yet', { phase: 'rebooting', job }, pendingB, 'reboot'],
    ['rebooting, on the trial boot', { phase: 'rebooting', job }, trialB, 'health-check'],
    [
      'rebooting, the try was spent and the bootloader fell back',
      { phase: 'rebooting', job },
      fellBack,
      'conclude FAILED',
    ],
    ['rebooting, committed before the cut', { phase: 'rebooting', job }, committedB, 'conclude SUCCEEDED'],
    [
      'rolling back, still on the bad slot',
      { phase: 'rolling-back', job, detail: 'x', report: true },
      trialB,
      'reboot-to-committed',
    ],
    [
      'rolling back, back on the old slot',
      { phase: 'rolling-back', job, detail: 'x', report: true },
      onA,
      'conclude FAILED',
    ],
    [
      'rolling back a canceled job',
      { phase: 'rolling-back', job, detail: 'x', report: false },
      fellBack,
      'conclude ABANDONED',
    ],
    ['reporting reports', reporting, onA, 'report'],
  ])('%s', (_name, state, boot, expected) => {
    const action = decideNext(state, boot);
    const label =
      action.kind === 'conclude'
        ? `conclude ${action.outcome}`
        : action.kind === 'repair'
          ? `repair${action.reboot ? '+reboot' : ''}`
          : action.kind;
    expect(label).toBe(expected);
  });
});
