import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { filesNeedingTools } from '../support/global-setup.ts';
import { missingToolLine, OPTIONAL_TOOLS, toolsRequired } from '../support/tools.ts';

const testRoot = fileURLToPath(new URL('..', import.meta.url));

async function allTestFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory()
        ? allTestFiles(join(dir, entry.name))
        : Promise.resolve(entry.name.endsWith('.test.ts') ? [join(dir, entry.name)] : []),
    ),
  );
  return nested.flat();
}

describe('toolsRequired: a missing Debian tool fails the run in CI and skips elsewhere', () => {
  it.each([
    { env: {}, required: false },
    { env: { CI: 'true' }, required: true },
    { env: { CI: '1' }, required: true },
    { env: { CI: 'false' }, required: false },
    { env: { CI: '' }, required: false },
    { env: { CI: 'true', FLEETKIT_REQUIRE_TOOLS: '0' }, required: false },
    { env: { FLEETKIT_REQUIRE_TOOLS: '1' }, required: true },
    { env: { FLEETKIT_REQUIRE_TOOLS: 'true' }, required: true },
  ])('$env → required $required', ({ env, required }) => {
    expect(toolsRequired(env)).toBe(required);
  });
});

describe('the one line printed per missing tool', () => {
  it('names the skipped files and the package to install', () => {
    expect(missingToolLine('kcat', ['test/a.test.ts', 'test/b.test.ts'])).toBe(
      "kcat not found (librdkafka's mock Kafka cluster): skipped test/a.test.ts, test/b.test.ts — install it with: apt-get install kcat",
    );
  });

  it('says the files need it where tools are required', () => {
    expect(missingToolLine('mosquitto', ['test/c.test.ts'], true)).toBe(
      'mosquitto_sub not found (a real MQTT client): needed by test/c.test.ts — install it with: apt-get install mosquitto-clients',
    );
  });
});

describe('every test that starts a Debian tool goes through skipWithout', () => {
  it('finds the Kafka and pty suites', async () => {
    const byTool = await filesNeedingTools();

    expect(byTool.get('kcat')).toContain('test/integration/streams/kafka.test.ts');
    expect(byTool.get('socat')).toContain('test/integration/edge-modem-pty.test.ts');
    expect(byTool.get('xdelta3')).toContain('test/integration/firmware-delta-e2e.test.ts');
  });

  it('leaves no test file that spawns kcat, socat, mosquitto or chromium without the guard', async () => {
    // Prepare: what starting one of the tools looks like in a test file.
    const startsATool =
      /(spawn|execFile)(Sync)?\(\s*['"](kcat|socat|mosquitto\w*|chromium|xdelta3)['"]|openPtyPair\(|executablePath:\s*['"]\/usr\/bin\/chromium/;
    const unguarded: string[] = [];

    // Act
    for (const file of await allTestFiles(testRoot)) {
      const source = await readFile(file, 'utf8');
      if (startsATool.test(source) && !/skipWithout\(/.test(source)) unguarded.push(file);
    }

    // Assess
    expect(unguarded).toEqual([]);
  });
});

describe('.ci/run installs every Debian tool a test needs', () => {
  it('lists the package of each tool some test file calls skipWithout for', async () => {
    // Prepare: the packages .ci/run installs (its DEBIAN_PACKAGES array).
    const script = await readFile(join(testRoot, '..', '.ci', 'run'), 'utf8');
    const listed = /^DEBIAN_PACKAGES=\(([^)]*)\)/m.exec(script)?.[1]?.split(/\s+/).filter(Boolean) ?? [];

    // Act
    const needed = [...(await filesNeedingTools()).keys()].map((tool) => OPTIONAL_TOOLS[tool].debianPackage);

    // Assess: otherwise CI (where tools are required) fails on the first test file that needs it.
    expect(listed.length).toBeGreaterThan(0);
    expect(needed.filter((pkg) => !listed.includes(pkg))).toEqual([]);
  });
});
