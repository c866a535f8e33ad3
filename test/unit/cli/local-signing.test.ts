import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../lib/cli/api.ts';
import { type CliIo, runCli } from '../../../lib/cli/main.ts';
import { localSigner } from '../../../lib/cli/sigv4.ts';
import { type OperatorCredentials, openOperatorCredentials } from '../../../lib/local/credentials.ts';
import { LOCAL_REGION } from '../../../lib/local/names.ts';
import { verifySigV4 } from '../../../lib/local/sigv4-verify.ts';

/** The CLI signs requests to the local platform with the credentials of its data directory, by default. */
describe('the CLI against the local platform', () => {
  let dataDir: string;
  let operator: OperatorCredentials;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-cli-signing-'));
    operator = await openOperatorCredentials(dataDir);
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('signs each request so that the platform’s verifier accepts it, query and body included', async () => {
    // Prepare: a fetch that checks the request as the gateway would
    const checks: unknown[] = [];
    const fetch = (async (url: URL, init: RequestInit) => {
      const headers = Object.fromEntries(
        Object.entries(init.headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]),
      );
      checks.push(
        await verifySigV4(
          {
            method: String(init.method),
            target: `${url.pathname}${url.search}`,
            headers,
            body: Buffer.from(String(init.body ?? '')),
          },
          {
            service: 'execute-api',
            region: LOCAL_REGION,
            lookup: (id) =>
              id === operator.accessKeyId ? { key: operator, principal: 'operator' } : undefined,
            now: Date.now,
          },
        ),
      );
      return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof globalThis.fetch;
    const api = new ApiClient({ baseUrl: 'http://127.0.0.1:3000', fetch, sign: localSigner(dataDir) });
    // Act
    await api.call('GET', 'devices?type=tracker&limit=5&type=meter');
    await api.call('PATCH', 'devices/dev%201', { groups: ['eu-west'] });
    // Assess
    expect(checks).toEqual([
      { ok: true, principal: 'operator', accessKeyId: operator.accessKeyId },
      { ok: true, principal: 'operator', accessKeyId: operator.accessKeyId },
    ]);
  });

  it('says where it looked when the data directory has no credentials, and exits 1', async () => {
    const err: string[] = [];
    const io: CliIo = {
      out: { write: () => {} },
      err: { write: (text) => err.push(text) },
      env: { FLEETKIT_API: 'http://127.0.0.1:9', FLEETKIT_DATA_DIR: join(dataDir, 'nowhere') },
    };

    const code = await runCli(['devices', 'list'], io);

    expect(code).toBe(1);
    expect(err.join('')).toContain(join(dataDir, 'nowhere', 'credentials'));
  });
});
