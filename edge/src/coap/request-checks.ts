import { CONTENT_FORMAT_CBOR, sensorId as sensorIdSchema } from '../../../lib/protocol/coap.ts';
import { PayloadDecodeError, SchemaValidationError } from '../../../lib/protocol/errors.ts';
import { CoapRequestError } from './errors.ts';
import type { CoapRequestInfo } from './messages.ts';

/** Checks of a request against RFC 7252, each failing with the response code and a diagnostic. */

export function isFormat(value: number | string | undefined, code: number, name: string): boolean {
  return value === code || value === name;
}

export function describeFormat(value: number | string | undefined): string {
  return value === undefined ? 'none' : String(value);
}

export function allow(request: CoapRequestInfo, methods: readonly string[]): void {
  if (!methods.includes(request.method))
    throw new CoapRequestError(
      '4.05',
      'method-not-allowed',
      `${request.method} not allowed on /${request.path.join('/')}; allowed: ${methods.join(', ')}`,
      { allow: methods },
    );
}

/** RFC 7252 §5.10.4: an Accept the resource cannot satisfy is answered 4.06 Not Acceptable. */
export function accepts(request: CoapRequestInfo, code: number, name: string): void {
  if (request.accept !== undefined && !isFormat(request.accept, code, name))
    throw new CoapRequestError(
      '4.06',
      'not-acceptable',
      `this resource is served as ${name} (${code}); Accept asked for ${describeFormat(request.accept)}`,
    );
}

export function validSensorId(raw: string): string {
  const result = sensorIdSchema.safeParse(raw);
  if (!result.success)
    throw new CoapRequestError(
      '4.00',
      'bad-request',
      `sensor id '${raw}' ${result.error.issues[0]?.message ?? ''}`,
    );
  return result.data;
}

export function notFound(diagnostic: string): CoapRequestError {
  return new CoapRequestError('4.04', 'not-found', diagnostic);
}

export function invalid(error: SchemaValidationError): CoapRequestError {
  return new CoapRequestError('4.00', 'invalid-payload', error.message);
}

/** Size, Content-Format, CBOR and schema checks of a request body, in that order. */
export function decodeBody<T>(
  request: CoapRequestInfo,
  parse: (bytes: Uint8Array) => T,
  maxPayloadBytes: number,
): T {
  if (request.payload.length > maxPayloadBytes)
    throw new CoapRequestError(
      '4.13',
      'too-large',
      `payload of ${request.payload.length} bytes exceeds the limit of ${maxPayloadBytes}`,
      { size1: maxPayloadBytes },
    );
  if (!isFormat(request.contentFormat, CONTENT_FORMAT_CBOR, 'application/cbor'))
    throw new CoapRequestError(
      '4.15',
      'unsupported-content-format',
      `Content-Format must be application/cbor (${CONTENT_FORMAT_CBOR}), got ${describeFormat(request.contentFormat)}`,
    );
  try {
    return parse(request.payload);
  } catch (error) {
    if (error instanceof PayloadDecodeError) throw new CoapRequestError('4.00', 'bad-cbor', error.message);
    if (error instanceof SchemaValidationError) throw invalid(error);
    throw error;
  }
}
