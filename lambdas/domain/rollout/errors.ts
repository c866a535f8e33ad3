/** Why a rollout request or command is refused; `status` is the HTTP status it maps to. */
export const ROLLOUT_REFUSALS = {
  UnknownFirmware: 404,
  FirmwareNotAvailable: 409,
  UnknownModel: 404,
  ModelNotAvailable: 409,
  ImageDoesNotFit: 400,
  NoEligibleDevices: 409,
  NoControlCohort: 409,
  RolloutExists: 409,
  InvalidRolloutTransition: 409,
  RolloutChanged: 409,
  // A preview reads the registry whole within the request: refused for a fleet past its cap.
  PreviewTooLarge: 422,
} as const;
export type RolloutRefusalCode = keyof typeof ROLLOUT_REFUSALS;

/** A rollout request or command refused: nothing was changed. */
export class RolloutRefusedError extends Error {
  override readonly name = 'RolloutRefusedError';

  constructor(
    readonly code: RolloutRefusalCode,
    message: string,
    /** What the caller needs to fix it (the selection summary when nothing is eligible). */
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }

  get status(): number {
    return ROLLOUT_REFUSALS[this.code];
  }
}
