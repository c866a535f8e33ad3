/** How the CLI reaches the HTTP API: a base URL, and optionally a request signer (SigV4 for AWS). */
export interface ApiOptions {
  readonly baseUrl: string;
  readonly fetch?: typeof fetch;
  /** Adds authorization headers to a request (the HTTP API in AWS needs IAM's SigV4). */
  readonly sign?: (request: {
    method: string;
    url: URL;
    headers: Record<string, string>;
    body?: string;
  }) => Promise<Record<string, string>>;
}

/** An answer of the API that is not a success: its status, code and message, as the API words them. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    // biome-ignore lint/suspicious/noExplicitAny: the API's error bodies carry arbitrary details
    readonly body: any,
  ) {
    super(message);
  }
}

/** A small JSON client for fleetkit's HTTP API. */
export class ApiClient {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ApiOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  // biome-ignore lint/suspicious/noExplicitAny: callers read the fields they asked for
  async call(method: string, path: string, body?: unknown): Promise<any> {
    const url = new URL(
      path,
      this.options.baseUrl.endsWith('/') ? this.options.baseUrl : `${this.options.baseUrl}/`,
    );
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {
      accept: 'application/json',
      host: url.host,
      ...(text === undefined ? {} : { 'content-type': 'application/json' }),
    };
    const signed =
      this.options.sign === undefined
        ? headers
        : await this.options.sign({ method, url, headers, ...(text === undefined ? {} : { body: text }) });
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        headers: signed,
        ...(text === undefined ? {} : { body: text }),
      });
    } catch (error) {
      throw new ApiError(
        0,
        'Unreachable',
        `cannot reach ${url.origin} (${error instanceof Error ? error.message : String(error)}): is the platform running (npm start), or is --api right?`,
        undefined,
      );
    }
    const raw = await response.text();
    let parsed: unknown;
    try {
      parsed = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      parsed = raw;
    }
    if (response.ok) return parsed;
    const error = (parsed ?? {}) as { code?: string; message?: string };
    throw new ApiError(response.status, error.code ?? `HTTP${response.status}`, error.message ?? raw, parsed);
  }
}
