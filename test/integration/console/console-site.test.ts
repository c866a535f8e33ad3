import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_REGION } from '../../../lib/local/names.ts';
import { startTestPlatform, type TestPlatform } from '../../support/platform.ts';
import { call } from '../../support/rollouts.ts';
import { signedFetch } from '../../support/signing.ts';

/** Sends exactly these headers (fetch would set its own Host). */
function raw(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * The console as the local gateway serves it: files without a signature, credentials only for a spent
 * one-time link, and those credentials good for the HTTP API alone.
 */
describe('the local console site', () => {
  let t: TestPlatform;
  let origin: string;
  const tokenOf = (link: string) => new URL(link).hash.replace('#login=', '');
  const exchange = (token: string, headers: Record<string, string> = {}) =>
    raw(`${origin}/console/session`, {
      method: 'POST',
      headers: { host: new URL(origin).host, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ token }),
    });

  beforeAll(async () => {
    t = await startTestPlatform();
    origin = t.platform.consoleBase;
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
  });

  it('serves the page and its bundle unsigned, under a policy that runs only its own scripts', async () => {
    const page = await fetch(`${origin}/console/`);
    const script = await fetch(`${origin}/console/app.js`);
    const config = (await (await fetch(`${origin}/console/config.json`)).json()) as { routes: string[] };
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="app.js">');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect(config.routes).toContain('GET /fleet/health');
    expect(config.routes).toContain('POST /rollouts/preview');
  }, 60_000);

  it('exchanges a login link once, for credentials that sign API calls', async () => {
    // Prepare
    const { url } = (await call(t.platform, 'POST', '/local/console-links')).body as { url: string };
    // Act
    const first = await exchange(tokenOf(url));
    const second = await exchange(tokenOf(url));
    const credentials = JSON.parse(first.body) as { accessKeyId: string; secretAccessKey: string };
    const health = await signedFetch(t.platform, '/fleet/health', { credentials });
    // Assess
    expect(first.status).toBe(200);
    expect(credentials.accessKeyId).toMatch(/^FKCS/);
    expect(JSON.parse(first.body).region).toBe(LOCAL_REGION);
    expect(second.status).toBe(401);
    expect(JSON.parse(second.body).message).toContain('npm run cli -- console');
    expect(health.status).toBe(200);
  });

  it('takes the link only as JSON, at a Host it answers to (no CSRF, no DNS rebinding)', async () => {
    const link = t.platform.console.loginLink(origin);
    const asForm = await raw(`${origin}/console/session`, {
      method: 'POST',
      headers: { host: new URL(origin).host, 'content-type': 'text/plain' },
      body: JSON.stringify({ token: tokenOf(link.url) }),
    });
    const rebound = await exchange(tokenOf(link.url), { host: 'attacker.example:80' });
    const honest = await exchange(tokenOf(link.url));
    expect(asForm.status).toBe(415);
    expect(rebound.status).toBe(403);
    // Neither refusal spent the link.
    expect(honest.status).toBe(200);
  });

  it('gives credentials the HTTP API accepts and the KMS endpoint does not', async () => {
    const credentials = JSON.parse((await exchange(tokenOf(t.platform.console.loginLink(origin).url))).body);
    const kms = await signedFetch(t.platform, t.platform.kmsEndpoint, {
      method: 'POST',
      service: 'kms',
      credentials,
      headers: { 'x-amz-target': 'TrentService.ListKeys', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    expect(kms.status).toBe(403);
  });

  it('signs nobody in without a link: the API refuses an unsigned call from the page', async () => {
    const unsigned = await fetch(`${origin}/fleet/health`);
    expect(unsigned.status).toBe(403);
  });
});
