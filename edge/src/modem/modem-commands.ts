import type { AtChannel } from './at-channel.ts';
import { intAt, parseParameters, stringAt } from './at-parser.ts';
import { type EdrxRequest, formatCedrxs } from './edrx.ts';
import { AtResponseFormatError, AtTimeoutError, CmeError, SimError } from './errors.ts';
import { formatCpsms, type PsmRequest, type PsmSettings } from './psm.ts';
import { isCeregReadResponse, parseCereg, type Registration } from './registration.ts';
import { type CesqReading, type CsqReading, parseCesq, parseCsq } from './signal.ts';

/**
 * Typed wrappers of the 27.007 commands the driver uses: each sends one command and turns its
 * response into a value, or throws a typed error. No state: that lives in the driver.
 */

/** The line starting with `prefix` in a response, or an {@link AtResponseFormatError}. */
function lineWith(command: string, lines: readonly string[], prefix: string): string {
  const line = lines.find((l) => l.startsWith(prefix));
  if (line === undefined)
    throw new AtResponseFormatError(command, undefined, `no ${prefix} line in the response`);
  return line;
}

/**
 * Sends `AT` until the modem answers: after power-up it may still be booting, or have auto-bauding
 * to settle. Rejects with the last {@link AtTimeoutError} when it never answers.
 */
export async function syncModem(channel: AtChannel, attempts: number, timeoutMs: number): Promise<void> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      await channel.send('AT', { timeoutMs });
      return;
    } catch (error) {
      if (!(error instanceof AtTimeoutError)) throw error;
      last = error;
    }
  }
  throw last;
}

/** The SIM states +CPIN? reports (27.007 §8.3) and +CME ERROR codes (§9.2.1) mean, as a {@link SimError} state. */
function simErrorOf(error: CmeError): SimError | undefined {
  switch (error.code) {
    case 10:
      return new SimError('not-inserted', error.text);
    case 11:
      return new SimError('pin-required', error.text);
    case 12:
      return new SimError('puk-required', error.text);
    case 13:
    case 15:
      return new SimError('failure', error.text);
    case 14:
      return new SimError('busy', error.text);
    default:
      return undefined;
  }
}

/**
 * `AT+CPIN?`: resolves when the SIM is ready, enters `pin` once if one is asked for and given, and
 * otherwise throws a {@link SimError} (not inserted, PIN / PUK required, failure).
 */
export async function unlockSim(
  channel: AtChannel,
  pin: string | undefined,
  timeoutMs: number,
): Promise<void> {
  const command = 'AT+CPIN?';
  let code: string;
  try {
    const response = await channel.send(command, { prefix: '+CPIN', timeoutMs });
    code = String(parseParameters(lineWith(command, response.lines, '+CPIN:'))?.[0] ?? '');
  } catch (error) {
    if (error instanceof CmeError) throw simErrorOf(error) ?? error;
    throw error;
  }
  if (code === 'READY') return;
  if (code === 'SIM PIN' && pin !== undefined) {
    try {
      await channel.send(`AT+CPIN="${pin}"`, { timeoutMs });
    } catch (error) {
      if (error instanceof CmeError) throw new SimError('pin-required', `PIN refused: ${error.text}`);
      throw error;
    }
    return unlockSim(channel, undefined, timeoutMs);
  }
  if (code === 'SIM PIN') throw new SimError('pin-required', 'the SIM asks for a PIN and none is configured');
  if (code === 'SIM PUK') throw new SimError('puk-required', 'the SIM is blocked (PUK)');
  throw new SimError('other', `+CPIN: ${code}`);
}

/** `AT+CEREG?` → the registration it reports. */
export async function readRegistration(channel: AtChannel, timeoutMs: number): Promise<Registration> {
  const command = 'AT+CEREG?';
  const response = await channel.send(command, { prefix: '+CEREG', accepts: isCeregReadResponse, timeoutMs });
  const line = lineWith(command, response.lines, '+CEREG:');
  const registration = parseCereg(line);
  if (!registration) throw new AtResponseFormatError(command, line, 'not +CEREG: <n>,<stat>[,...]');
  return registration;
}

/** `AT+CESQ` and `AT+CSQ` → RSRP / RSRQ and RSSI. A modem without +CESQ still gives RSSI. */
export async function readSignal(channel: AtChannel, timeoutMs: number): Promise<CesqReading & CsqReading> {
  const cesqLine = lineWith(
    'AT+CESQ',
    (await channel.send('AT+CESQ', { prefix: '+CESQ', timeoutMs })).lines,
    '+CESQ:',
  );
  const cesq = parseCesq(cesqLine);
  if (!cesq) throw new AtResponseFormatError('AT+CESQ', cesqLine, 'not six +CESQ values in range');
  const csqLine = lineWith(
    'AT+CSQ',
    (await channel.send('AT+CSQ', { prefix: '+CSQ', timeoutMs })).lines,
    '+CSQ:',
  );
  const csq = parseCsq(csqLine);
  if (!csq) throw new AtResponseFormatError('AT+CSQ', csqLine, 'not +CSQ: <rssi>,<ber> in range');
  return { ...cesq, ...csq };
}

/** `AT+COPS=3,0` then `AT+COPS?` → the operator's long alphanumeric name, when registered. */
export async function readOperator(channel: AtChannel, timeoutMs: number): Promise<string | undefined> {
  await channel.send('AT+COPS=3,0', { timeoutMs });
  const line = lineWith(
    'AT+COPS?',
    (await channel.send('AT+COPS?', { prefix: '+COPS', timeoutMs })).lines,
    '+COPS:',
  );
  const values = parseParameters(line);
  if (!values || intAt(values, 0) === undefined)
    throw new AtResponseFormatError('AT+COPS?', line, 'not +COPS: <mode>[,<format>,<oper>[,<AcT>]]');
  return stringAt(values, 2);
}

/** `AT+CPSMS=...` → the settings actually requested (timers rounded up to their encodings). */
export async function requestPsm(
  channel: AtChannel,
  request: PsmRequest,
  timeoutMs: number,
): Promise<PsmSettings> {
  const { command, requested } = formatCpsms(request);
  await channel.send(command, { timeoutMs });
  return requested;
}

/** `AT+CEDRXS=...` → the cycle actually requested. */
export async function requestEdrx(
  channel: AtChannel,
  request: EdrxRequest,
  timeoutMs: number,
): Promise<number | undefined> {
  const { command, cycleSeconds } = formatCedrxs(request);
  await channel.send(command, { timeoutMs });
  return cycleSeconds;
}

/** Quotes an AT string parameter; refuses characters that would end or break the command line. */
export function quoteAtString(value: string, name: string): string {
  if (!/^[\x20-\x7e]*$/.test(value) || value.includes('"'))
    throw new RangeError(`${name} must be printable ASCII without '"', got ${JSON.stringify(value)}`);
  return `"${value}"`;
}
