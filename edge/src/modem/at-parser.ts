import { CME_ERRORS, CMS_ERRORS, resolveErrorCode } from './cme-errors.ts';
import { AtCommandError, CmeError, CmsError } from './errors.ts';

/**
 * Pure functions from one framed line to what it means: a final result code (ITU-T V.250 §5.7.1,
 * 3GPP TS 27.007 §9.2), an information response `+NAME: params` and its parameters (27.007 §4.1).
 * Which command a line belongs to, and whether it is unsolicited, is decided by the channel, which
 * knows what is in flight.
 */

/** Final result codes: the line that ends a command. */
export type FinalResult =
  | { readonly ok: true; readonly code: 'OK' | 'CONNECT'; readonly line: string }
  | {
      readonly ok: false;
      readonly code:
        | 'ERROR'
        | 'NO CARRIER'
        | 'BUSY'
        | 'NO ANSWER'
        | 'NO DIALTONE'
        | '+CME ERROR'
        | '+CMS ERROR';
      readonly line: string;
      /** The `<err>` of +CME / +CMS ERROR, as sent. */
      readonly err?: string;
    };

const FAILURE_CODES = ['ERROR', 'NO CARRIER', 'BUSY', 'NO ANSWER', 'NO DIALTONE'] as const;

/** The final result code `line` is, or undefined if it is not one. */
export function parseFinalResult(line: string): FinalResult | undefined {
  if (line === 'OK') return { ok: true, code: 'OK', line };
  // V.250 §6.3.7: CONNECT may carry text (`CONNECT 115200`).
  if (line === 'CONNECT' || line.startsWith('CONNECT ')) return { ok: true, code: 'CONNECT', line };
  for (const code of FAILURE_CODES) if (line === code) return { ok: false, code, line };
  const cme = /^\+CME ERROR:\s*(.*)$/.exec(line);
  if (cme) return { ok: false, code: '+CME ERROR', line, err: cme[1] ?? '' };
  const cms = /^\+CMS ERROR:\s*(.*)$/.exec(line);
  if (cms) return { ok: false, code: '+CMS ERROR', line, err: cms[1] ?? '' };
  return undefined;
}

/** The typed error a failed final result code stands for. */
export function errorFromFinalResult(command: string, result: FinalResult & { ok: false }): AtCommandError {
  if (result.code === '+CME ERROR') {
    const { code, text } = resolveErrorCode(CME_ERRORS, result.err ?? '');
    return new CmeError(command, result.line, code, text);
  }
  if (result.code === '+CMS ERROR') {
    const { code, text } = resolveErrorCode(CMS_ERRORS, result.err ?? '');
    return new CmsError(command, result.line, code, text);
  }
  return new AtCommandError(command, result.line);
}

/** The name of an information response or URC (`+CEREG` of `+CEREG: 1`), or undefined. */
export function responsePrefix(line: string): string | undefined {
  // 27.007 §4.1: extended syntax `+NAME: ...`; vendors use `%`, `^`, `#`, `$` for their own.
  const match = /^([+%^#$][A-Z0-9]+):/i.exec(line);
  return match?.[1]?.toUpperCase();
}

/** One parameter of an information response: a number, a string, or omitted (`,,`). */
export type AtValue = number | string | undefined;

/** One parameter as it was sent: its text (without the quotes) and whether it was quoted. */
export interface AtField {
  readonly text: string;
  readonly quoted: boolean;
}

/**
 * The parameters after `+NAME:` (or of a whole line without a prefix) as sent, split on commas
 * outside quotes; an empty field is `undefined`, unquoted text is trimmed. For parameters whose
 * type the quotes do not tell: 27.007's hexadecimal strings (<tac>, <ci>) come unquoted from some
 * modems, where an unquoted `0001` would otherwise read as the integer 1. Returns undefined for a
 * line that cannot be split (an unterminated quote).
 */
export function splitFields(line: string): (AtField | undefined)[] | undefined {
  const prefix = /^[+%^#$][A-Za-z0-9]+:/.exec(line);
  const body = (prefix ? line.slice(prefix[0].length) : line).trim();
  if (body === '') return [];
  const fields: (AtField | undefined)[] = [];
  let i = 0;
  while (i <= body.length) {
    while (body[i] === ' ') i++;
    if (body[i] === '"') {
      const end = body.indexOf('"', i + 1);
      if (end < 0) return undefined;
      fields.push({ text: body.slice(i + 1, end), quoted: true });
      i = end + 1;
      while (body[i] === ' ') i++;
      if (i < body.length && body[i] !== ',') return undefined;
    } else {
      const end = body.indexOf(',', i);
      const raw = body.slice(i, end < 0 ? body.length : end).trim();
      fields.push(raw === '' ? undefined : { text: raw, quoted: false });
      i = end < 0 ? body.length : end;
    }
    i++;
  }
  return fields;
}

/**
 * The parameters after `+NAME:` (or of a whole line without a prefix), split on commas outside
 * quotes. Quoted values stay strings (`"00C3"`), unquoted integers become numbers, an empty field
 * is `undefined`. Returns undefined for a line that cannot be split (an unterminated quote).
 */
export function parseParameters(line: string): AtValue[] | undefined {
  return splitFields(line)?.map((field) => {
    if (field === undefined || field.quoted) return field?.text;
    return /^-?\d+$/.test(field.text) ? Number(field.text) : field.text;
  });
}

/** Integer parameter at `index`, or undefined when missing or not an integer. */
export function intAt(values: readonly AtValue[], index: number): number | undefined {
  const value = values[index];
  return typeof value === 'number' ? value : undefined;
}

/** String parameter at `index`, or undefined when missing or not a (quoted) string. */
export function stringAt(values: readonly AtValue[], index: number): string | undefined {
  const value = values[index];
  return typeof value === 'string' ? value : undefined;
}
