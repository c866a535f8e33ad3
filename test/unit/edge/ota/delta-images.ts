import { makeImage } from './support.ts';

/**
 * The two images of the delta tests: 1.0.0, and 2.0.0 made from it by a few edits (bytes changed, some
 * inserted, some removed), as a release changes a few modules. `test/fixtures/ota/delta-1.0.0-2.0.0.vcdiff`
 * is the delta between them, made once by xdelta3 3.0.11 in standard VCDIFF:
 * `xdelta3 -e -S none -A -n -s base.bin next.bin delta-1.0.0-2.0.0.vcdiff`.
 */
export function deltaImages(): { base: Buffer; next: Buffer } {
  const base = makeImage(16 * 1024, 'delta-base');
  const next = Buffer.concat([
    base.subarray(0, 4_000),
    Buffer.from('fleetkit 2.0.0: this part of the image changed'),
    base.subarray(4_000, 11_000),
    makeImage(700, 'delta-new-module'),
    base.subarray(11_500),
  ]);
  return { base, next };
}
