import type { NetworkInterfaceInfo } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { CoapBindingError, exposureWarning, resolveCoapBinding } from '../../../../edge/src/coap/exposure.ts';
import { Harness } from './support.ts';

/**
 * Issue 12: no unauthenticated writer. No maintained Node.js library serves DTLS-PSK or OSCORE, so the
 * gateway is on loopback unless a setting names an interface and an allow-list, and refuses every other
 * source before anything is read or queued.
 */

const iface = (address: string, family: 'IPv4' | 'IPv6' = 'IPv4') =>
  ({ address, family, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', internal: false, cidr: null }) as
    | NetworkInterfaceInfo
    | never;
const interfaces = {
  lo: [iface('127.0.0.1')],
  eth1: [iface('fe80::1', 'IPv6'), iface('192.168.7.2')],
  wwan0: [iface('fe80::2', 'IPv6')],
};

describe('resolveCoapBinding', () => {
  it('binds to loopback when no interface is named, with no allow-list needed', () => {
    expect(resolveCoapBinding(undefined, undefined, interfaces)).toEqual({ host: '127.0.0.1' });
  });

  it('binds to the named interface only with an allow-list, and says so', () => {
    const binding = resolveCoapBinding('eth1', ['192.168.7.20', '192.168.7.21'], interfaces);
    expect(binding).toEqual({
      host: '192.168.7.2',
      allowedSources: ['192.168.7.20', '192.168.7.21'],
      exposure: { interface: 'eth1', address: '192.168.7.2', allow: ['192.168.7.20', '192.168.7.21'] },
    });
    expect(exposureWarning(binding.exposure as never)).toMatch(
      /eth1 \(192\.168\.7\.2\) without DTLS or OSCORE/,
    );
  });

  it.each([
    ['an interface without an allow-list', 'eth1', undefined, /needs FLEETKIT_COAP_ALLOW/],
    ['an empty allow-list', 'eth1', [], /needs FLEETKIT_COAP_ALLOW/],
    ['an allow-list entry that is not an address', 'eth1', ['sensor-1'], /'sensor-1' is not an IPv4/],
    ['an unknown interface', 'eth9', ['192.168.7.20'], /'eth9', which has no IPv4 address/],
    ['an interface with no IPv4 address', 'wwan0', ['192.168.7.20'], /'wwan0'/],
  ])('refuses %s', (_name, name, allow, message) => {
    expect(() => resolveCoapBinding(name, allow, interfaces)).toThrow(CoapBindingError);
    expect(() => resolveCoapBinding(name, allow, interfaces)).toThrow(message);
  });
});

describe('the gateway refuses sources not on its allow-list before reading the request', () => {
  const harnesses: Harness[] = [];
  afterEach(async () => {
    for (const harness of harnesses.splice(0)) await harness.stop();
  });

  it('a write and a command from a source not allowed: 4.03, nothing queued, nothing done', async () => {
    // Prepare: the test client sends from 127.0.0.1; only 127.0.0.2 may write.
    const h = await new Harness({ allowedSources: ['127.0.0.2'] }).start();
    harnesses.push(h);
    // Act
    const write = await h.send({
      method: 'POST',
      pathname: '/sensors/th1/readings',
      body: { values: { temp: 20 } },
    });
    const command = await h.send({
      method: 'POST',
      pathname: '/commands',
      body: { name: 'set-interval', seconds: 60 },
    });
    // Assess
    expect([write.code, command.code]).toEqual(['4.03', '4.03']);
    expect(h.sunk).toEqual([]);
    expect(h.commands).toEqual([]);
    expect(h.gateway.metrics().rejected['forbidden-source']).toBe(2);
  });

  it('the same write from an allowed source is taken (so the refusal above is the source)', async () => {
    const h = await new Harness({ allowedSources: ['127.0.0.1'] }).start();
    harnesses.push(h);
    const write = await h.send({
      method: 'POST',
      pathname: '/sensors/th1/readings',
      body: { values: { temp: 20 } },
    });
    expect(write.code).toBe('2.01');
    expect(h.sunk).toHaveLength(1);
  });

  it('refuses a set-interval below the floor, so a local command cannot drain the battery', async () => {
    const h = await new Harness().start();
    harnesses.push(h);
    const fast = await h.send({
      method: 'POST',
      pathname: '/commands',
      body: { name: 'set-interval', seconds: 1 },
    });
    expect(fast.code).toBe('4.00');
    expect(h.commands).toEqual([]);
  });
});
