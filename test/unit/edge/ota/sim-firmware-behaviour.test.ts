import { describe, expect, it } from 'vitest';
import {
  applyFirmwareTelemetry,
  buildSimulatedFirmwareImage,
  installDraw,
  parseSimulatedFirmwareManifest,
  simulatedInstallFails,
} from '../../../../lib/local/sim/firmware-behaviour.ts';

describe('simulated firmware images (lib/local/sim/firmware-behaviour.ts)', () => {
  const manifest = {
    fleetkitSimFirmware: 1 as const,
    version: '2.0.0',
    installFailRate: 0.3,
    healthCheck: 'pass' as const,
    telemetry: { temperatureOffset: 15, anomalyScore: 0.9 },
  };

  it('an image is the manifest line, a newline, then deterministic padding to the size', () => {
    const image = buildSimulatedFirmwareImage(manifest, 2048);
    expect(image).toHaveLength(2048);
    expect(image.subarray(0, image.indexOf(0x0a)).toString()).toBe(JSON.stringify(manifest));
    expect(buildSimulatedFirmwareImage(manifest, 2048).equals(image)).toBe(true);
    expect(buildSimulatedFirmwareImage(manifest, 2048, 'other').equals(image)).toBe(false);
    expect(parseSimulatedFirmwareManifest(image)).toEqual(manifest);
  });

  it('fills in defaults: installs everywhere, passes its health check, telemetry unchanged', () => {
    const image = buildSimulatedFirmwareImage({ fleetkitSimFirmware: 1, version: '3.1.0' }, 512);
    expect(parseSimulatedFirmwareManifest(image)).toEqual({
      fleetkitSimFirmware: 1,
      version: '3.1.0',
      installFailRate: 0,
      healthCheck: 'pass',
      telemetry: {},
    });
  });

  it.each([
    ['no newline', Buffer.from('{"fleetkitSimFirmware":1,"version":"2.0.0"}')],
    ['not JSON', Buffer.from('ELF\n')],
    ['no marker', Buffer.from('{"version":"2.0.0"}\n')],
    ['a version that is not semver', Buffer.from('{"fleetkitSimFirmware":1,"version":"two"}\n')],
  ])('an image with %s has no manifest (factory behaviour)', (_name, image) => {
    expect(parseSimulatedFirmwareManifest(image)).toBeUndefined();
  });

  it('refuses to build an invalid manifest or one that does not fit', () => {
    expect(() => buildSimulatedFirmwareImage({ ...manifest, healthCheck: 'maybe' as never })).toThrow();
    expect(() => buildSimulatedFirmwareImage(manifest, 10)).toThrow(RangeError);
  });

  it('install failures are deterministic per device and version, and about as frequent as the rate', () => {
    const things = Array.from({ length: 2000 }, (_, i) => `sim-${String(i + 1).padStart(4, '0')}`);
    const parsed = parseSimulatedFirmwareManifest(buildSimulatedFirmwareImage(manifest, 1024));
    if (parsed === undefined) throw new Error('no manifest');
    const failing = things.filter((t) => simulatedInstallFails(t, parsed));
    expect(failing.length / things.length).toBeGreaterThan(0.25);
    expect(failing.length / things.length).toBeLessThan(0.35);
    expect(things.filter((t) => simulatedInstallFails(t, parsed))).toEqual(failing);
    expect(failing.every((t) => installDraw(t, '2.0.0') < 0.3)).toBe(true);
  });

  it('telemetry changes only when the manifest asks', () => {
    const values = { temperature: 21.5, humidity: 40 };
    expect(applyFirmwareTelemetry(values, undefined)).toBe(values);
    const parsed = parseSimulatedFirmwareManifest(buildSimulatedFirmwareImage(manifest, 1024));
    expect(applyFirmwareTelemetry(values, parsed)).toEqual({
      temperature: 36.5,
      humidity: 40,
      anomalyScore: 0.9,
    });
  });
});
