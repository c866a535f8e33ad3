import type { RegistrationState } from '../../../lib/protocol/modem.ts';

/**
 * Typed errors of the modem driver. Each names the command it belongs to, so a log line or the
 * `lastError` in the modem status says what was being done.
 */

/** The modem answered a command with `ERROR`, `NO CARRIER`, `BUSY`, ... (ITU-T V.250 final result codes). */
export class AtCommandError extends Error {
  override readonly name: string = 'AtCommandError';

  constructor(
    readonly command: string,
    /** The final result code as received (`ERROR`, `NO CARRIER`). */
    readonly result: string,
  ) {
    super(`${command}: ${result}`);
  }
}

/**
 * `+CME ERROR: <err>` (3GPP TS 27.007 §9.2), in numeric (`+CMEE=1`) or verbose (`+CMEE=2`) form.
 * Both forms are resolved to the same `code` and `text` where the table knows them.
 */
export class CmeError extends AtCommandError {
  override readonly name: string = 'CmeError';

  constructor(
    command: string,
    result: string,
    /** Numeric error code; undefined for a verbose text the table does not know. */
    readonly code: number | undefined,
    /** Verbose text; `unknown error <n>` for a numeric code the table does not know. */
    readonly text: string,
  ) {
    super(command, result);
    this.message = `${command}: +CME ERROR ${code ?? '?'} (${text})`;
  }
}

/** `+CMS ERROR: <err>` (3GPP TS 27.005 §3.2.5): message service errors. */
export class CmsError extends AtCommandError {
  override readonly name: string = 'CmsError';

  constructor(
    command: string,
    result: string,
    readonly code: number | undefined,
    readonly text: string,
  ) {
    super(command, result);
    this.message = `${command}: +CMS ERROR ${code ?? '?'} (${text})`;
  }
}

/** No final result code within the command's timeout. */
export class AtTimeoutError extends Error {
  override readonly name = 'AtTimeoutError';

  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`${command}: no final result code within ${timeoutMs} ms`);
  }
}

/** The port closed (or the channel was closed) before the command completed, or before it was sent. */
export class PortClosedError extends Error {
  override readonly name = 'PortClosedError';

  constructor(
    readonly command: string,
    reason: string,
  ) {
    super(`${command}: ${reason}`);
  }
}

/** A command got its final `OK` but its information response did not have the form the spec gives. */
export class AtResponseFormatError extends Error {
  override readonly name = 'AtResponseFormatError';

  constructor(
    readonly command: string,
    readonly line: string | undefined,
    readonly reason: string,
  ) {
    super(`${command}: ${reason}${line === undefined ? '' : ` in '${line}'`}`);
  }
}

/** Why input from the port was dropped. */
export type GarbageReason =
  /** Bytes outside printable ASCII (line noise, a baud-rate mismatch, boot loader output). */
  | 'non-printable'
  /** A line longer than the framer accepts without a terminator. */
  | 'line-too-long'
  /** A well-formed line nobody asked for and no URC handler knows. */
  | 'unexpected-line'
  /** A final result code with no command waiting for it (e.g. the late `OK` of a timed-out command). */
  | 'stray-final-result'
  /** Information text that arrived after its command had timed out. */
  | 'late-response';

/**
 * Input from the port that was dropped. Never thrown: emitted to `onGarbage` listeners and counted,
 * so the driver keeps running and the fleet sees how noisy a line is.
 */
export class GarbageInputError extends Error {
  override readonly name = 'GarbageInputError';

  constructor(
    readonly reason: GarbageReason,
    /** The dropped bytes or line, escaped for logging. */
    readonly input: string,
  ) {
    super(`dropped input (${reason}): ${input}`);
  }
}

/** The SIM is absent, locked or broken (from `+CPIN?` or the +CME ERROR it answered with). */
export type SimState = 'not-inserted' | 'pin-required' | 'puk-required' | 'failure' | 'busy' | 'other';

/** Bring-up cannot go on without a usable SIM. */
export class SimError extends Error {
  override readonly name = 'SimError';

  constructor(
    readonly state: SimState,
    detail: string,
  ) {
    super(`SIM ${state}: ${detail}`);
  }
}

/** The network did not register the modem in time, or refused it. */
export class RegistrationError extends Error {
  override readonly name = 'RegistrationError';

  constructor(
    /** The last +CEREG state seen. */
    readonly registration: RegistrationState,
    detail: string,
  ) {
    super(`not registered (${registration}): ${detail}`);
  }
}

/** A PSM timer or eDRX cycle that its 24.008 encoding cannot carry, or a bit string that is not one. */
export class TimerEncodingError extends RangeError {
  override readonly name = 'TimerEncodingError';
}

/** The driver was stopped while an operation was waiting. */
export class ModemStoppedError extends Error {
  override readonly name = 'ModemStoppedError';

  constructor(operation: string) {
    super(`${operation}: modem driver stopped`);
  }
}
