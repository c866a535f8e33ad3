/** Something the caller asked for does not exist. Maps to HTTP 404. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** A pagination token that this service did not issue, or that was altered. Maps to HTTP 400. */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
}
