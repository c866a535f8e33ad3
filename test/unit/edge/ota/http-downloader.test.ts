import { describe, expect, it } from 'vitest';
import { downloadToSlot } from '../../../../edge/src/ota/download.ts';
import { RefusedUrlError, UpdateFailedError } from '../../../../edge/src/ota/errors.ts';
import { HttpDownloader, urlRefusal } from '../../../../edge/src/ota/http-downloader.ts';
import { MemorySlotStore } from '../../../../edge/src/ota/memory-slot-store.ts';
import { BASE_TIME, FakeClock, firmwareDocument, makeImage, makeKey } from './support.ts';

/** The downloader fetches firmware over https; plain http only from a loopback development endpoint. */
describe('which URLs the downloader fetches', () => {
  it.each([
    [
      'https anywhere',
      'https://fleetkit-firmware.s3.eu-west-1.amazonaws.com/fw/2.0.0.bin?X-Amz-Signature=ab',
    ],
    ['http to 127.0.0.1 (the local platform)', 'http://127.0.0.1:4569/fleetkit-local-firmware/fw.bin'],
    ['http to anywhere in 127.0.0.0/8', 'http://127.8.9.10/fw.bin'],
    ['http to localhost', 'http://localhost:4569/fw.bin'],
    ['http to ::1', 'http://[::1]:4569/fw.bin'],
  ])('fetches %s', (_name, url) => {
    expect(urlRefusal(new URL(url))).toBeUndefined();
  });

  it.each([
    ['http to a public name', 'http://firmware.example.com/fw.bin', /loopback/],
    ['http to a private address', 'http://192.168.1.20:4569/fw.bin', /loopback/],
    ['http to a name that merely starts like loopback', 'http://127.0.0.1.nip.io/fw.bin', /loopback/],
    [
      'http to a name under localhost of another domain',
      'http://localhost.attacker.example/fw.bin',
      /loopback/,
    ],
    ['ftp', 'ftp://127.0.0.1/fw.bin', /unsupported URL scheme ftp:/],
    ['file', 'file:///tmp/fw.bin', /unsupported URL scheme file:/],
  ])('refuses %s', (_name, url, reason) => {
    expect(urlRefusal(new URL(url))).toMatch(reason);
  });

  it('rejects with RefusedUrlError before opening any connection', async () => {
    const attempt = new HttpDownloader().get({ url: 'http://192.0.2.1:9/fw.bin', offset: 0 });

    await expect(attempt).rejects.toBeInstanceOf(RefusedUrlError);
  });

  it('fails an update at once on a plaintext URL, without retrying it', async () => {
    // Prepare
    const image = makeImage(1000);
    const { manifest } = firmwareDocument(image, makeKey()).firmware;
    const firmware = {
      url: 'http://firmware.example/fw.bin',
      urlExpiresAt: Math.floor(BASE_TIME / 1000) + 3600,
      size: manifest.size,
      sha256: manifest.sha256,
    };
    const http = new HttpDownloader();
    const asked: string[] = [];
    // Act
    const outcome = await downloadToSlot({
      slots: new MemorySlotStore({ initialVersion: '1.0.0' }),
      slot: 'b',
      downloader: {
        get: (request) => {
          asked.push(request.url);
          return http.get(request);
        },
      },
      clock: new FakeClock(),
      firmware,
      renew: async () => firmware,
    }).catch((error: unknown) => error);
    // Assess
    expect(outcome).toBeInstanceOf(UpdateFailedError);
    expect(outcome).toMatchObject({ reason: 'download', step: 'downloading' });
    expect((outcome as Error).message).toMatch(/plain http is allowed only to a loopback/);
    expect(asked).toEqual(['http://firmware.example/fw.bin']);
  });
});
