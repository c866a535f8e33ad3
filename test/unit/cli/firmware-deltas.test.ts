import { describe, expect, it } from 'vitest';
import type { ApiClient } from '../../../lib/cli/api.ts';
import { chooseDeltaBases, type DeltaTarget, uploadDeltas } from '../../../lib/cli/firmware-deltas.ts';
import type { FirmwareView } from '../../../lib/protocol/firmware.ts';
import { MAX_DELTA_IMAGE_BYTES } from '../../../lib/protocol/firmware-deltas.ts';

/**
 * Which versions `firmware upload` makes deltas from: the available versions a rollout of the new image
 * may start from (same device type, older, at or above its minVersion), newest first, capped.
 */

const view = (version: string, overrides: Partial<FirmwareView> = {}): FirmwareView => ({
  version,
  deviceTypes: ['tracker'],
  size: 1024,
  sha256: 'a'.repeat(64),
  securityVersion: 0,
  status: 'available',
  registeredAt: '2026-12-01T00:00:00.000Z',
  ...overrides,
});
const target: DeltaTarget = { version: '2.0.0', deviceTypes: ['tracker'], size: 2048 };

describe('chooseDeltaBases', () => {
  it.each<[string, FirmwareView[], DeltaTarget, number | undefined, string[]]>([
    [
      'older available versions, newest first',
      [view('1.0.0'), view('1.2.0'), view('1.1.0')],
      target,
      undefined,
      ['1.2.0', '1.1.0', '1.0.0'],
    ],
    [
      'at most the cap',
      [view('1.0.0'), view('1.2.0'), view('1.1.0'), view('1.3.0')],
      target,
      2,
      ['1.3.0', '1.2.0'],
    ],
    [
      'three by default',
      [view('1.0.0'), view('1.2.0'), view('1.1.0'), view('1.3.0')],
      target,
      undefined,
      ['1.3.0', '1.2.0', '1.1.0'],
    ],
    ['none with a cap of 0', [view('1.0.0')], target, 0, []],
    [
      'not the version itself nor newer ones',
      [view('2.0.0'), view('2.1.0'), view('1.9.9')],
      target,
      undefined,
      ['1.9.9'],
    ],
    [
      'not below minVersion (a device there cannot take it)',
      [view('1.0.0'), view('1.5.0'), view('1.6.0')],
      { ...target, minVersion: '1.5.0' },
      undefined,
      ['1.6.0', '1.5.0'],
    ],
    [
      'not another device type',
      [view('1.0.0', { deviceTypes: ['gateway'] }), view('1.1.0', { deviceTypes: ['gateway', 'tracker'] })],
      target,
      undefined,
      ['1.1.0'],
    ],
    [
      'not withdrawn or unsigned ones',
      [view('1.0.0', { status: 'withdrawn' }), view('1.1.0', { status: 'pending-upload' }), view('1.2.0')],
      target,
      undefined,
      ['1.2.0'],
    ],
    [
      'not a base too large to patch',
      [view('1.0.0', { size: MAX_DELTA_IMAGE_BYTES + 1 })],
      target,
      undefined,
      [],
    ],
    [
      'nothing for a new image too large to patch',
      [view('1.0.0')],
      { ...target, size: MAX_DELTA_IMAGE_BYTES + 1 },
      undefined,
      [],
    ],
    ['semantic precedence, not text order', [view('1.9.0'), view('1.10.0')], target, 1, ['1.10.0']],
  ])('%s', (_name, catalog, to, max, expected) => {
    // Act
    const chosen = chooseDeltaBases(catalog, to, max).map((v) => v.version);
    // Assess
    expect(chosen).toEqual(expected);
  });
});

describe('uploadDeltas without xdelta3', () => {
  it('says so in one line, makes no delta and asks the registry for nothing more than the catalog (a fake API)', async () => {
    // Prepare
    const calls: string[] = [];
    const api = {
      call: async (method: string, path: string) => {
        calls.push(`${method} ${path}`);
        return { firmware: [view('1.0.0')] };
      },
    } as unknown as ApiClient;
    let out = '';
    // Act
    const made = await uploadDeltas(
      api,
      target,
      { file: '/nonexistent/2.0.0', xdelta3: 'fleetkit-no-such-xdelta3' },
      {
        write: (text) => {
          out += text;
        },
      },
    );
    // Assess
    expect(made).toEqual([]);
    expect(out).toBe(
      'fleetkit-no-such-xdelta3 not found: uploading the full image only, no deltas (apt-get install xdelta3)\n',
    );
    expect(calls).toEqual(['GET firmware?status=available&limit=100']);
  });
});
