import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import type { ModelInfo } from '../../../lib/protocol/model.ts';
import { modelRef } from '../../../lib/protocol/model.ts';
import { parseWith } from '../../../lib/protocol/parse.ts';
import type { ModelSource } from '../ml/anomaly-detector.ts';
import type { ModelReport } from '../shadow/ports.ts';

/** The manifest delivered with a model file (`edge/model/anomaly-detector.json`). */
export const modelManifest = modelRef.extend({
  file: z.string().regex(/^[\w.-]+\.onnx$/, 'must be a file name ending in .onnx'),
});

export const MODEL_MANIFEST_FILE = 'anomaly-detector.json';

/**
 * Where the model is when no directory is configured: `model/` beside the bundled agent (the
 * Greengrass artifact), or `edge/model/` when the agent runs from source.
 */
export function defaultModelDir(moduleUrl: string = import.meta.url): string {
  const here = dirname(fileURLToPath(moduleUrl));
  const candidates = [join(here, 'model'), join(here, '..', 'model'), join(here, '..', '..', 'model')];
  return candidates.find((dir) => existsSync(join(dir, MODEL_MANIFEST_FILE))) ?? (candidates[0] as string);
}

/** The model file and the version and digest it must have, from the manifest in `dir`. */
export async function readModelSource(dir: string): Promise<ModelSource> {
  const path = join(dir, MODEL_MANIFEST_FILE);
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      `cannot read the model manifest ${path} (${error.code ?? error.message}): set FLEETKIT_MODEL_DIR`,
    );
  });
  const manifest = parseWith(modelManifest, JSON.parse(text), `model manifest ${path}`);
  return { path: join(dir, manifest.file), version: manifest.version, sha256: manifest.sha256 };
}

/** What the shadow reports about the model: version, digest and the shapes of its inputs and outputs. */
export function modelReport(info: ModelInfo): ModelReport {
  return JSON.parse(
    JSON.stringify({
      name: info.name,
      version: info.version,
      sha256: info.sha256,
      featureSet: info.featureSet,
      inputs: info.inputs,
      outputs: info.outputs,
    }),
  ) as ModelReport;
}
