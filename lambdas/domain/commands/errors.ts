/** Why a command request is refused; `status` is the HTTP status it maps to. */
export const COMMAND_REFUSALS = {
  BatchExists: 409,
  NoDevices: 409,
} as const;
export type CommandRefusalCode = keyof typeof COMMAND_REFUSALS;

/** A command request refused: nothing was stored and nothing sent. */
export class CommandRefusedError extends Error {
  override readonly name = 'CommandRefusedError';

  constructor(
    readonly code: CommandRefusalCode,
    message: string,
    /** What the caller needs to fix it (the selection's counts when no device is left). */
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }

  get status(): number {
    return COMMAND_REFUSALS[this.code];
  }
}
