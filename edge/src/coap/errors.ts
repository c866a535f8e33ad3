/**
 * Why the gateway refused a request; the keys of {@link CoapGatewayMetrics.rejected}.
 *
 * - `bad-request`: malformed request line (an invalid sensor id in the path, a payload where none belongs)
 * - `bad-cbor`: the payload is not one well-formed CBOR item
 * - `invalid-payload`: well-formed CBOR that does not match the schema (the diagnostic names the field)
 * - `unsupported-content-format`: not `application/cbor` (60)
 * - `not-acceptable`: the Accept option asks for a format the resource cannot give
 * - `too-large`: the payload exceeds the gateway's limit
 * - `not-found`, `method-not-allowed`: no such resource, or not that method on it
 * - `sensor-limit`: a new sensor when the gateway already tracks its maximum
 * - `sink-refused`: the uplink refused the readings as invalid
 * - `sink-unavailable`: the uplink could not take the readings now (queue full, closing)
 * - `command-rejected`: the agent refused the command in its current state
 * - `command-failed`: the command handler failed
 * - `internal`: a fault in the gateway itself (answered 5.00)
 */
export const COAP_REJECTION_REASONS = [
  'bad-request',
  'bad-cbor',
  'invalid-payload',
  'unsupported-content-format',
  'not-acceptable',
  'too-large',
  'not-found',
  'method-not-allowed',
  'sensor-limit',
  'sink-refused',
  'sink-unavailable',
  'command-rejected',
  'command-failed',
  /** From a source address not on the allow-list (`exposure.ts`). */
  'forbidden-source',
  'internal',
] as const;
export type CoapRejectionReason = (typeof COAP_REJECTION_REASONS)[number];

/** Options a rejection carries besides its code and diagnostic (RFC 7252 §5.10). */
export interface CoapRejectionOptions {
  /** Seconds after which the client may retry (Max-Age on 5.03, RFC 7252 §5.9.3.4). */
  readonly maxAge?: number;
  /** The largest payload the server accepts (Size1 on 4.13, RFC 7252 §5.9.3.9). */
  readonly size1?: number;
  /** Methods the resource does allow, listed in the 4.05 diagnostic. */
  readonly allow?: readonly string[];
}

/**
 * A request the gateway refuses: a CoAP response code (`4.00`), a reason for the metrics, and a
 * diagnostic sent as the response's UTF-8 payload (RFC 7252 §5.5.2).
 */
export class CoapRequestError extends Error {
  override readonly name = 'CoapRequestError';
  readonly code: string;
  readonly reason: CoapRejectionReason;
  readonly options: CoapRejectionOptions;

  constructor(
    code: string,
    reason: CoapRejectionReason,
    diagnostic: string,
    options: CoapRejectionOptions = {},
  ) {
    super(diagnostic);
    this.code = code;
    this.reason = reason;
    this.options = options;
  }
}

/**
 * Thrown by a command handler to refuse a valid command in the agent's current state (an interval
 * the agent's policy forbids, a sample already in progress). Answered 4.03 Forbidden with the message.
 */
export class CommandRejectedError extends Error {
  override readonly name = 'CommandRejectedError';
}
