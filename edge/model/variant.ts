import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import { ModelProperty } from '../../lib/protocol/model-contract.ts';
import { MODEL_FILE } from './anomaly-model.ts';

const { onnx } = onnxProto;

/** What changes in a variant of a model. */
export interface VariantOptions {
  /** The version it declares (`fleetkit.version`, and `model_version` as major·10⁶ + minor·10³ + patch). */
  readonly version: string;
  /**
   * Added to the output logit's bias: 0 keeps the model's scores; a large positive value makes a
   * deliberately bad model whose scores run high on every window (what the health gate must catch).
   * @default 0
   */
  readonly scoreBias?: number;
}

/**
 * A new version of a trained fleetkit anomaly model without training again (seconds, not a retrain):
 * the same graph and weights, another declared version, and optionally a shifted output bias. Used to
 * publish a "new" model in tests and demos, and to make a model that worsens the anomaly rate.
 */
export function modelVariant(base: Uint8Array, options: VariantOptions): Uint8Array {
  const model = onnx.ModelProto.decode(base);
  const [major = 0, minor = 0, patch = 0] = options.version.split(/[.+-]/).map(Number);
  model.modelVersion = major * 1_000_000 + minor * 1_000 + patch;
  const version = model.metadataProps.find((p) => p.key === ModelProperty.version);
  if (version === undefined) throw new Error(`the base model declares no ${ModelProperty.version}`);
  version.value = options.version;
  if ((options.scoreBias ?? 0) !== 0) {
    const bias = model.graph?.initializer?.find((t) => t.name === 'output_bias');
    if (bias?.rawData === undefined || bias.rawData === null)
      throw new Error('the base model has no output_bias initializer to shift');
    const raw = new DataView(bias.rawData.buffer, bias.rawData.byteOffset, bias.rawData.byteLength);
    // raw_data: little-endian IEEE 754 float32, as onnx.proto requires.
    for (let at = 0; at < raw.byteLength; at += 4)
      raw.setFloat32(at, raw.getFloat32(at, true) + (options.scoreBias ?? 0), true);
  }
  return onnx.ModelProto.encode(model).finish();
}

/** The committed model's bytes (`edge/model/anomaly-detector.onnx`). */
export function committedModel(): Promise<Buffer> {
  return readFile(fileURLToPath(new URL(MODEL_FILE, import.meta.url)));
}

// `npx tsx edge/model/variant.ts --version 1.1.0 [--score-bias 8] --out model-1.1.0.onnx`
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => {
    const at = process.argv.indexOf(name);
    return at < 0 ? undefined : process.argv[at + 1];
  };
  const version = arg('--version');
  const out = arg('--out');
  if (version === undefined || out === undefined) {
    process.stderr.write('usage: variant.ts --version <v> [--score-bias <n>] --out <file>\n');
    process.exit(2);
  }
  const bytes = modelVariant(await committedModel(), {
    version,
    scoreBias: Number(arg('--score-bias') ?? 0),
  });
  await writeFile(out, bytes);
  process.stdout.write(`${out}: model ${version}, ${bytes.length} bytes\n`);
}
