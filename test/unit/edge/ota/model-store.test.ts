import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeOnnxModel } from '../../../../edge/model/onnx-writer.ts';
import {
  InvalidModelVersionError,
  loadStartupDetector,
  ModelStore,
  resolveStartupModel,
} from '../../../../edge/src/ml/model-store.ts';
import { committedSource, randomMlp, sha256Of, specOf } from '../ml/support.ts';

/** Which model the agent loads at start, from what the model store holds on disk. */

const installed = Buffer.from(encodeOnnxModel(specOf(randomMlp('store-1.1.0'), '1.1.0')));

let dir: string;
let store: ModelStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetkit-model-store-'));
  store = new ModelStore(dir);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Installs 1.1.0 as the agent does: staging file, promote, then the pointer. */
async function install(): Promise<void> {
  const staging = await store.staging('1.1.0');
  const writer = await staging.openForWrite(0);
  await writer.write(installed);
  await writer.close();
  await store.promote(staging.path, '1.1.0');
  await store.setCurrent({ version: '1.1.0', sha256: sha256Of(installed), sizeBytes: installed.length });
}

/** Each row: what is on disk, and whether the agent starts on the installed or the factory model. */
const startups: Array<[string, () => Promise<void>, 'installed' | 'factory', RegExp | undefined]> = [
  ['nothing installed', async () => undefined, 'factory', undefined],
  ['an intact installed model', install, 'installed', undefined],
  [
    'an installed model whose file changed since',
    async () => {
      await install();
      const changed = Buffer.from(installed);
      changed[10] = (changed[10] ?? 0) ^ 0xff;
      await writeFile(store.pathOf('1.1.0'), changed);
    },
    'factory',
    /has SHA-256 [0-9a-f]{64}, current\.json records/,
  ],
  [
    'an installed model whose file is gone',
    async () => {
      await install();
      await store.remove('1.1.0');
    },
    'factory',
    /cannot read/,
  ],
  [
    'a current.json that does not parse',
    async () => writeFile(store.currentPath, '{"version": '),
    'factory',
    /does not parse/,
  ],
  [
    'only a half-downloaded staging file',
    async () => {
      const staging = await store.staging('1.1.0');
      const writer = await staging.openForWrite(0);
      await writer.write(installed.subarray(0, 100));
      await writer.close();
    },
    'factory',
    undefined,
  ],
];

describe('resolveStartupModel', () => {
  it.each(startups)('with %s starts on the %s model', async (_name, arrange, origin, problem) => {
    // Prepare
    await arrange();
    const factory = await committedSource();

    // Act
    const startup = await resolveStartupModel(store, committedSource);

    // Assess
    expect(startup.origin).toBe(origin);
    expect(startup.source.version).toBe(origin === 'installed' ? '1.1.0' : factory.version);
    if (problem === undefined) expect(startup.problem).toBeUndefined();
    else expect(startup.problem).toMatch(problem);
  });
});

describe('loadStartupDetector', () => {
  it('serves the installed model when the detector accepts it', async () => {
    // Prepare
    await install();

    // Act
    const { detector, origin } = await loadStartupDetector(store, committedSource);

    // Assess
    expect(origin).toBe('installed');
    expect(detector.info.version).toBe('1.1.0');
    await detector.close();
  });

  it('falls back to the factory model when the detector refuses the installed one (intact file, other features)', async () => {
    // Prepare
    const spec = specOf(randomMlp('store-other'), '1.1.0');
    const other = Buffer.from(
      encodeOnnxModel({ ...spec, properties: { ...spec.properties, 'fleetkit.feature_set': 'other-v9' } }),
    );
    await writeFile(store.pathOf('1.1.0'), other);
    await store.setCurrent({ version: '1.1.0', sha256: sha256Of(other), sizeBytes: other.length });

    // Act
    const { detector, origin, problem } = await loadStartupDetector(store, committedSource);

    // Assess
    expect(origin).toBe('factory');
    expect(problem).toMatch(/incompatible/);
    expect(detector.info.version).toBe((await committedSource()).version);
    await detector.close();
  });
});

describe('ModelStore', () => {
  it('refuses a version that is not a semantic version as a file name', async () => {
    // Prepare
    const version = '../escape';

    // Act
    const staging = store.staging(version);

    // Assess
    await expect(staging).rejects.toThrow(InvalidModelVersionError);
    expect(() => store.pathOf(version)).toThrow(InvalidModelVersionError);
  });

  it('resumes a staging file from where it was cut: truncates to the offset asked and appends', async () => {
    // Prepare
    const staging = await store.staging('1.1.0');
    const first = await staging.openForWrite(0);
    await first.write(installed.subarray(0, 200));
    await first.close();

    // Act
    const resumed = await staging.openForWrite(150);
    await resumed.write(installed.subarray(150));
    await resumed.close();

    // Assess
    expect(await staging.size()).toBe(installed.length);
    const chunks: Uint8Array[] = [];
    for await (const chunk of staging.read()) chunks.push(chunk);
    expect(sha256Of(Buffer.concat(chunks))).toBe(sha256Of(installed));
  });
});
