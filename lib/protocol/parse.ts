import type * as z from 'zod';
import { type FieldIssue, PayloadDecodeError, SchemaValidationError } from './errors.ts';

/** Turns zod issues into field / reason pairs that name the field in dotted form. */
export function toFieldIssues(issues: readonly z.core.$ZodIssue[]): FieldIssue[] {
  return issues.map((issue) => ({
    field: issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.'),
    reason: issue.message,
  }));
}

/**
 * Parses `input` with `schema`, or throws a {@link SchemaValidationError} naming every bad field.
 *
 * @param subject what is being parsed, used in the error message (`status message`)
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, subject: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new SchemaValidationError(subject, toFieldIssues(result.error.issues));
  return result.data;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8 JSON bytes (an MQTT payload, a request body), or throws a {@link PayloadDecodeError}. */
export function decodeJson(bytes: Uint8Array | string, subject: string): unknown {
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : utf8.decode(bytes);
  } catch {
    throw new PayloadDecodeError(subject, 'not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PayloadDecodeError(subject, `not valid JSON (${(error as Error).message})`);
  }
}

/** Decodes JSON bytes and parses them with `schema`: the usual path for a message off the wire. */
export function parseJsonMessage<S extends z.ZodType>(
  schema: S,
  bytes: Uint8Array | string,
  subject: string,
): z.output<S> {
  return parseWith(schema, decodeJson(bytes, subject), subject);
}
