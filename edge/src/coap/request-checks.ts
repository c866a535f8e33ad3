import { sensorId as sensorIdSchema } from '../../../lib/protocol/coap.ts';
import type { SchemaValidationError } from '../../../lib/protocol/errors.ts';
import { CoapRequestError } from './errors.ts';
import type { CoapRequestInfo } from './gateway.ts';

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
