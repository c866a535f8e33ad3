import { decodeString, MalformedProtobufError, readFields } from './protobuf.ts';

/**
 * Field numbers of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) that the agent
 * reads. The training script writes models with `onnx-proto` (the same schema, compiled); a test reads
 * what it writes with this table.
 */
export const OnnxField = {
  model: {
    irVersion: 1,
    producerName: 2,
    producerVersion: 3,
    domain: 4,
    modelVersion: 5,
    docString: 6,
    graph: 7,
    opsetImport: 8,
    metadataProps: 14,
  },
  operatorSetId: { domain: 1, version: 2 },
  stringStringEntry: { key: 1, value: 2 },
  graph: { node: 1, name: 2, initializer: 5, docString: 10, input: 11, output: 12 },
  node: { input: 1, output: 2, name: 3, opType: 4, attribute: 5, docString: 6, domain: 7 },
  attribute: { name: 1, f: 2, i: 3, type: 20 },
  tensor: { dims: 1, dataType: 2, name: 8, rawData: 9, docString: 12 },
  valueInfo: { name: 1, type: 2, docString: 3 },
  type: { tensorType: 1 },
  tensorType: { elemType: 1, shape: 2 },
  shape: { dim: 1 },
  dimension: { dimValue: 1, dimParam: 2 },
} as const;

/** What a model file says about itself, outside its graph. */
export interface OnnxModelMetadata {
  readonly irVersion: number;
  /** Operator sets the graph binds to; `''` is the default ONNX domain. */
  readonly opsets: readonly { readonly domain: string; readonly version: number }[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly domain: string;
  /** `ModelProto.model_version` (an integer; fleetkit's semantic version is in {@link properties}). */
  readonly modelVersion: number;
  readonly docString: string;
  readonly graphName: string;
  /** `ModelProto.metadata_props`, the model's own key/value metadata. */
  readonly properties: Readonly<Record<string, string>>;
}

/**
 * Decodes the top-level fields of an ONNX `ModelProto`, skipping over the graph except for its name.
 * onnxruntime-node exposes input and output metadata but not these, and reading them from the very
 * bytes that were hashed (before a session exists) lets a bad model be refused without loading it.
 *
 * @throws MalformedProtobufError when the bytes are not a ModelProto with an IR version, an operator
 *   set and a graph.
 */
export function readOnnxMetadata(bytes: Uint8Array): OnnxModelMetadata {
  const f = OnnxField.model;
  let irVersion: number | undefined;
  let graphName: string | undefined;
  const opsets: { domain: string; version: number }[] = [];
  const strings = { producerName: '', producerVersion: '', domain: '', docString: '' };
  let modelVersion = 0;
  const properties: Record<string, string> = {};
  for (const field of readFields(bytes)) {
    if (field.wireType === 0) {
      if (field.field === f.irVersion) irVersion = field.value;
      else if (field.field === f.modelVersion) modelVersion = field.value;
      continue;
    }
    if (field.wireType !== 2) continue;
    switch (field.field) {
      case f.producerName:
        strings.producerName = decodeString(field.value);
        break;
      case f.producerVersion:
        strings.producerVersion = decodeString(field.value);
        break;
      case f.domain:
        strings.domain = decodeString(field.value);
        break;
      case f.docString:
        strings.docString = decodeString(field.value);
        break;
      case f.graph:
        graphName = readGraphName(field.value);
        break;
      case f.opsetImport:
        opsets.push(readOpset(field.value));
        break;
      case f.metadataProps: {
        const [key, value] = readEntry(field.value);
        properties[key] = value;
        break;
      }
    }
  }
  if (irVersion === undefined) throw new MalformedProtobufError('not an ONNX model: no ir_version');
  if (opsets.length === 0) throw new MalformedProtobufError('not an ONNX model: no opset_import');
  if (graphName === undefined) throw new MalformedProtobufError('not an ONNX model: no graph');
  return { irVersion, opsets, ...strings, modelVersion, graphName, properties };
}

function readGraphName(bytes: Uint8Array): string {
  for (const field of readFields(bytes))
    if (field.field === OnnxField.graph.name && field.wireType === 2) return decodeString(field.value);
  return '';
}

function readOpset(bytes: Uint8Array): { domain: string; version: number } {
  let domain = '';
  let version = 0;
  for (const field of readFields(bytes)) {
    if (field.field === OnnxField.operatorSetId.domain && field.wireType === 2)
      domain = decodeString(field.value);
    else if (field.field === OnnxField.operatorSetId.version && field.wireType === 0) version = field.value;
  }
  return { domain, version };
}

function readEntry(bytes: Uint8Array): [string, string] {
  let key = '';
  let value = '';
  for (const field of readFields(bytes)) {
    if (field.wireType !== 2) continue;
    if (field.field === OnnxField.stringStringEntry.key) key = decodeString(field.value);
    else if (field.field === OnnxField.stringStringEntry.value) value = decodeString(field.value);
  }
  return [key, value];
}
