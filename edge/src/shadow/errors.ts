/** The shadow service answered a request on `/rejected`. */
export class ShadowRejectedError extends Error {
  override readonly name = 'ShadowRejectedError';

  constructor(
    readonly operation: 'get' | 'update',
    /** HTTP-style status: 400 bad request, 404 no shadow, 409 version conflict, 413 too large, 429, 500. */
    readonly code: number,
    readonly reason: string,
  ) {
    super(`shadow ${operation} rejected: ${code} ${reason}`);
  }
}

/** No answer to a shadow request within the timeout. */
export class ShadowRequestTimeoutError extends Error {
  override readonly name = 'ShadowRequestTimeoutError';

  constructor(
    readonly operation: 'get' | 'update',
    timeoutMs: number,
  ) {
    super(`no answer to shadow ${operation} within ${timeoutMs} ms`);
  }
}

/** The shadow client was closed while a request waited for its answer. */
export class ShadowClientClosedError extends Error {
  override readonly name = 'ShadowClientClosedError';
}
