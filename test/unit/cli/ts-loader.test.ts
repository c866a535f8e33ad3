import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const run = promisify(execFile);

describe('bin/ts-loader.mjs (the loader npm start runs the platform with)', () => {
  it('runs TypeScript as tsc compiles it, without esbuild keepNames, with stack traces into the sources', async () => {
    // Prepare
    const args = [
      '--allow-natives-syntax',
      '--import',
      './bin/ts-loader.mjs',
      'test/fixtures/ts-loader/module.ts',
    ];

    // Act
    const { stdout } = await run(process.execPath, args, { cwd: root });

    // Assess
    const report = JSON.parse(stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      name: 'onMessage',
      // keepNames redefines `name` on each function, which puts its properties in a dictionary.
      fast: true,
      fieldOrder: ['param', 'uninitialized', 'declared'],
    });
    expect(report.stackLine).toMatch(/helper\.ts:4:\d+\)$/);
  });
});
