/** The gateway's requests and replies, transport aside (`node-coap.ts` maps them to the wire). */

/** A CoAP request reduced to what the gateway routes on; see {@link CoapGateway.handle}. */
export interface CoapRequestInfo {
  /** `GET`, `POST`, `PUT`, `DELETE`, `FETCH`, `PATCH`, `iPATCH`. */
  readonly method: string;
  /** Uri-Path segments (`['sensors', 'th1', 'readings']`). */
  readonly path: readonly string[];
  /** Content-Format: its number, or the name node-coap gives a registered one (`application/cbor`). */
  readonly contentFormat?: number | string;
  /** Accept, in the same form. */
  readonly accept?: number | string;
  readonly payload: Uint8Array;
}

/** A response, before it is put on the wire. */
export interface CoapReply {
  /** Response code, `class.detail` (`2.05`). */
  readonly code: string;
  readonly contentFormat?: number;
  readonly payload?: Uint8Array;
  readonly maxAge?: number;
  readonly size1?: number;
  readonly locationPath?: readonly string[];
  /** The resource's name in the observer registry when it may be observed (RFC 7641). */
  readonly observable?: string;
}
