/** Why an identity request is refused; the value is the HTTP status it maps to. */
export const IDENTITY_REFUSALS = {
  /** The thing type is not one of the deployment's (they are made at deploy from the topology). */
  UnknownThingType: 400,
  /** The CSR is not a valid, self-signed PKCS #10 request for an ECDSA P-256 or RSA ≥ 2048 key. */
  InvalidCsr: 400,
  /** The thing exists with another thing type. */
  ThingTypeConflict: 409,
  /** The thing already has an active certificate for another key: rotate or revoke it instead. */
  ThingHasCertificate: 409,
  /** The device or certificate is unknown. */
  UnknownDevice: 404,
  UnknownCertificate: 404,
  /** A certificate in a state the request does not allow (revoked, another thing's, ...). */
  CertificateState: 409,
  /** The request came on a certificate that may not make it (confirm from the old certificate, ...). */
  WrongPrincipal: 403,
} as const;
export type IdentityRefusalCode = keyof typeof IDENTITY_REFUSALS;

/** An identity request refused: nothing was changed by the refused step. */
export class IdentityRefusedError extends Error {
  override readonly name = 'IdentityRefusedError';

  constructor(
    readonly code: IdentityRefusalCode,
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return IDENTITY_REFUSALS[this.code];
  }
}
