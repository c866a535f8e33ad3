import onnxProto from 'onnx-proto';

/**
 * Serialises an ONNX model with `onnx-proto` (onnx.proto compiled for protobufjs): the training
 * side's writer, run by `npm run train:model` and the tests, never shipped to a device (the agent
 * reads a model's metadata with its own small reader, `lib/protocol/onnx/onnx-metadata.ts`, which keeps
 * protobufjs and the whole ONNX schema — about 250 KB — out of the edge bundle). protobufjs writes
 * fields in the schema's order, so the same spec always gives the same bytes.
 */

const { onnx } = onnxProto;

export interface OnnxAttribute {
  readonly name: string;
  readonly value: { readonly float: number } | { readonly int: number };
}

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: readonly OnnxAttribute[];
  readonly docString?: string;
}

/** A constant float32 tensor (an initializer). */
export interface OnnxInitializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly values: ArrayLike<number>;
  readonly docString?: string;
}

/** A float32 graph input or output; a string dimension is symbolic (`batch`). */
export interface OnnxValueInfo {
  readonly name: string;
  readonly shape: readonly (number | string)[];
  readonly docString?: string;
}

export interface OnnxModelSpec {
  readonly irVersion: number;
  /** Version of the default ONNX operator set. */
  readonly opset: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly domain: string;
  readonly modelVersion: number;
  readonly docString: string;
  readonly graph: {
    readonly name: string;
    readonly docString: string;
    readonly nodes: readonly OnnxNode[];
    readonly initializers: readonly OnnxInitializer[];
    readonly inputs: readonly OnnxValueInfo[];
    readonly outputs: readonly OnnxValueInfo[];
  };
  /** `metadata_props`, written in key order. */
  readonly properties: Readonly<Record<string, string>>;
}

/** The model as the bytes of a `.onnx` file. */
export function encodeOnnxModel(spec: OnnxModelSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: spec.irVersion,
    producerName: spec.producerName,
    producerVersion: spec.producerVersion,
    domain: spec.domain,
    modelVersion: spec.modelVersion,
    docString: spec.docString,
    graph: {
      node: spec.graph.nodes.map(nodeProto),
      name: spec.graph.name,
      initializer: spec.graph.initializers.map(tensorProto),
      docString: spec.graph.docString,
      input: spec.graph.inputs.map(valueInfoProto),
      output: spec.graph.outputs.map(valueInfoProto),
    },
    opsetImport: [{ domain: '', version: spec.opset }],
    metadataProps: Object.keys(spec.properties)
      .sort()
      .map((key) => ({ key, value: spec.properties[key] ?? '' })),
  });
  return onnx.ModelProto.encode(model).finish();
}

function nodeProto(node: OnnxNode): onnxProto.onnx.INodeProto {
  return {
    input: [...node.inputs],
    output: [...node.outputs],
    name: node.name,
    opType: node.opType,
    attribute: (node.attributes ?? []).map((attribute) =>
      'float' in attribute.value
        ? { name: attribute.name, f: attribute.value.float, type: onnx.AttributeProto.AttributeType.FLOAT }
        : { name: attribute.name, i: attribute.value.int, type: onnx.AttributeProto.AttributeType.INT },
    ),
    ...(node.docString === undefined ? {} : { docString: node.docString }),
  };
}

function tensorProto(tensor: OnnxInitializer): onnxProto.onnx.ITensorProto {
  const count = tensor.dims.reduce((a, b) => a * b, 1);
  if (count !== tensor.values.length)
    throw new RangeError(
      `tensor ${tensor.name}: dims ${tensor.dims.join('×')} hold ${count} values, got ${tensor.values.length}`,
    );
  // raw_data: fixed-width little-endian IEEE 754, as onnx.proto requires.
  const raw = new DataView(new ArrayBuffer(count * 4));
  for (let i = 0; i < count; i++) raw.setFloat32(i * 4, tensor.values[i] ?? 0, true);
  return {
    dims: [...tensor.dims],
    dataType: onnx.TensorProto.DataType.FLOAT,
    name: tensor.name,
    rawData: new Uint8Array(raw.buffer),
    ...(tensor.docString === undefined ? {} : { docString: tensor.docString }),
  };
}

function valueInfoProto(value: OnnxValueInfo): onnxProto.onnx.IValueInfoProto {
  return {
    name: value.name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: {
          dim: value.shape.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })),
        },
      },
    },
    ...(value.docString === undefined ? {} : { docString: value.docString }),
  };
}
