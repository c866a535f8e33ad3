import { decodeString, MalformedProtobufError, readFields } from './protobuf.ts';

/**
 * Field numbers of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) that the agent
 * and the cloud's model registry read. The training script writes models with `onnx-proto` (the same schema, compiled); a test reads
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

/**
 * ONNX `TensorProto.DataType` numbers and the names onnxruntime gives the same element types
 * (onnxruntime-common `Tensor.Type`), for the types a tensor of fleetkit's can have.
 */
const ELEMENT_TYPES: Readonly<Record<number, string>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  21: 'uint4',
  22: 'int4',
};

/** A graph input or output as the file declares it: a fixed size or a symbolic name per dimension. */
export interface OnnxValueInfo {
  readonly name: string;
  /** onnxruntime's name of the element type, or `type <n>` for one without (complex, bfloat16, ...). */
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

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
  /**
   * The graph's inputs (those that are not initializers: IR < 4 lists weights as inputs too) and
   * outputs, in declaration order.
   */
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  /** `ModelProto.metadata_props`, the model's own key/value metadata. */
  readonly properties: Readonly<Record<string, string>>;
}

/**
 * Decodes the top-level fields of an ONNX `ModelProto` and, of its graph, the name, inputs and outputs
 * (nodes and weights are skipped). onnxruntime-node exposes input and output metadata but not the rest,
 * and reading them from the very bytes that were hashed (before a session exists) lets a bad model be
 * refused without loading it — by the agent, and by the cloud's model registry, which has no runtime.
 *
 * @throws MalformedProtobufError when the bytes are not a ModelProto with an IR version, an operator
 *   set and a graph.
 */
export function readOnnxMetadata(bytes: Uint8Array): OnnxModelMetadata {
  const f = OnnxField.model;
  let irVersion: number | undefined;
  let graph: GraphSummary | undefined;
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
        graph = readGraph(field.value);
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
  if (graph === undefined) throw new MalformedProtobufError('not an ONNX model: no graph');
  return { irVersion, opsets, ...strings, modelVersion, ...graph, properties };
}

interface GraphSummary {
  readonly graphName: string;
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
}

function readGraph(bytes: Uint8Array): GraphSummary {
  const g = OnnxField.graph;
  let graphName = '';
  const inputs: OnnxValueInfo[] = [];
  const outputs: OnnxValueInfo[] = [];
  const initializers = new Set<string>();
  for (const field of readFields(bytes)) {
    if (field.wireType !== 2) continue;
    if (field.field === g.name) graphName = decodeString(field.value);
    else if (field.field === g.input) inputs.push(readValueInfo(field.value));
    else if (field.field === g.output) outputs.push(readValueInfo(field.value));
    else if (field.field === g.initializer) initializers.add(readTensorName(field.value));
  }
  return { graphName, inputs: inputs.filter((i) => !initializers.has(i.name)), outputs };
}

function readTensorName(bytes: Uint8Array): string {
  for (const field of readFields(bytes))
    if (field.field === OnnxField.tensor.name && field.wireType === 2) return decodeString(field.value);
  return '';
}

/** Sub-message `number` of `bytes`, or undefined. */
function child(bytes: Uint8Array, number: number): Uint8Array | undefined {
  for (const field of readFields(bytes))
    if (field.field === number && field.wireType === 2) return field.value;
  return undefined;
}

function readValueInfo(bytes: Uint8Array): OnnxValueInfo {
  let name = '';
  let type: Uint8Array | undefined;
  for (const field of readFields(bytes)) {
    if (field.wireType !== 2) continue;
    if (field.field === OnnxField.valueInfo.name) name = decodeString(field.value);
    else if (field.field === OnnxField.valueInfo.type) type = field.value;
  }
  const tensor = type === undefined ? undefined : child(type, OnnxField.type.tensorType);
  // Not a tensor (a sequence or a map): no element type or shape to speak of.
  if (tensor === undefined) return { name, type: 'not-a-tensor', shape: [] };
  let elemType = 0;
  const shape: (number | string)[] = [];
  for (const field of readFields(tensor)) {
    if (field.field === OnnxField.tensorType.elemType && field.wireType === 0) elemType = field.value;
    else if (field.field === OnnxField.tensorType.shape && field.wireType === 2) {
      for (const dim of readFields(field.value)) {
        if (dim.field !== OnnxField.shape.dim || dim.wireType !== 2) continue;
        shape.push(readDimension(dim.value));
      }
    }
  }
  return { name, type: ELEMENT_TYPES[elemType] ?? `type ${elemType}`, shape };
}

/** A fixed size, or the symbolic name (an unnamed unknown size reads as `?`). */
function readDimension(bytes: Uint8Array): number | string {
  for (const field of readFields(bytes)) {
    if (field.field === OnnxField.dimension.dimValue && field.wireType === 0) return field.value;
    if (field.field === OnnxField.dimension.dimParam && field.wireType === 2)
      return decodeString(field.value);
  }
  return '?';
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
