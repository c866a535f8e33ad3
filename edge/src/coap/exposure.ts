import { isIP } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';

/**
 * Where the CoAP gateway listens, and who may write to it (issue 12: no unauthenticated writer).
 *
 * The standard answers are DTLS with pre-shared keys (RFC 7925) or OSCORE (RFC 8613). No maintained
 * Node.js library serves either: node-coap has no DTLS; `node-dtls-client` and `node-coap-client` are
 * DTLS *clients*; `werift-dtls` is WebRTC's certificate DTLS without PSK; there is no OSCORE package. So
 * the gateway does what it can without a secure channel:
 * - it binds to loopback (127.0.0.1) by default: only processes on the device can reach it;
 * - it binds to another address only when a setting names the network interface *and* an allow-list of
 *   sensor addresses; requests from any other source are refused (4.03) before they are read, so nothing
 *   is queued; the agent warns at start, and reports the exposure in its shadow (`health.coap`) for the
 *   audit. A source address is not a key — on a shared link it can be spoofed — which is why the
 *   exposure is made loud rather than quiet.
 */

/** The gateway's binding, decided from the settings. */
export interface CoapBinding {
  /** The address to bind. */
  readonly host: string;
  /** Source addresses allowed to send requests; undefined on loopback (only local processes reach it). */
  readonly allowedSources?: readonly string[];
  /** Present when the gateway faces a network: what the agent warns about and reports. */
  readonly exposure?: {
    readonly interface: string;
    readonly address: string;
    readonly allow: readonly string[];
  };
}

/** The CoAP settings are contradictory or name something that does not exist. */
export class CoapBindingError extends Error {
  override readonly name = 'CoapBindingError';
}

/**
 * Decides the binding.
 *
 * @param interfaceName `FLEETKIT_COAP_INTERFACE`: a network interface (`eth1`), or undefined for loopback
 * @param allow `FLEETKIT_COAP_ALLOW`: the sensors' IPv4 addresses, required with an interface
 * @param interfaces the machine's interfaces (`os.networkInterfaces()`)
 * @throws CoapBindingError for an unknown interface, one without IPv4, or a missing or bad allow-list
 */
export function resolveCoapBinding(
  interfaceName: string | undefined,
  allow: readonly string[] | undefined,
  interfaces: Readonly<Record<string, readonly NetworkInterfaceInfo[] | undefined>>,
): CoapBinding {
  if (interfaceName === undefined) return { host: '127.0.0.1' };
  const address = interfaces[interfaceName]?.find((a) => a.family === 'IPv4')?.address;
  if (address === undefined) {
    throw new CoapBindingError(
      `FLEETKIT_COAP_INTERFACE names '${interfaceName}', which has no IPv4 address here (interfaces: ${Object.keys(interfaces).join(', ')})`,
    );
  }
  if (allow === undefined || allow.length === 0) {
    throw new CoapBindingError(
      'FLEETKIT_COAP_INTERFACE needs FLEETKIT_COAP_ALLOW: the sensors’ addresses, comma-separated (CoAP has no DTLS or OSCORE here: see edge/README.md)',
    );
  }
  const bad = allow.find((a) => isIP(a) !== 4);
  if (bad !== undefined) throw new CoapBindingError(`FLEETKIT_COAP_ALLOW: '${bad}' is not an IPv4 address`);
  return {
    host: address,
    allowedSources: [...allow],
    exposure: { interface: interfaceName, address, allow: [...allow] },
  };
}

/** The warning the agent logs at start when the gateway faces a network. */
export function exposureWarning(exposure: NonNullable<CoapBinding['exposure']>): string {
  return (
    `CoAP gateway listens on ${exposure.interface} (${exposure.address}) without DTLS or OSCORE (no Node.js ` +
    `library serves them): only ${exposure.allow.join(', ')} may send requests, by source address, which a ` +
    'host on the same link can spoof'
  );
}
