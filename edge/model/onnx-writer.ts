import { OnnxAttributeType, OnnxDataType, OnnxField } from '../src/ml/onnx-metadata.ts';
import { ProtobufWriter } from '../src/ml/protobuf.ts';

/**
 * Serialises an ONNX model (onnx.proto's ModelProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto, ValueInfoProto) with fleetkit's own protobuf writer: just the fields a small
 * float32 graph needs. Fields are written in field-number order, as protobuf serialisers do, so the
 * same spec always gives the same bytes.
 */

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
  const f = OnnxField.model;
  const w = new ProtobufWriter()
    .varint(f.irVersion, spec.irVersion)
    .string(f.producerName, spec.producerName)
    .string(f.producerVersion, spec.producerVersion)
    .string(f.domain, spec.domain)
    .varint(f.modelVersion, spec.modelVersion)
    .string(f.docString, spec.docString)
    .message(f.graph, (g) => writeGraph(g, spec.graph))
    .message(f.opsetImport, (o) =>
      o.string(OnnxField.operatorSetId.domain, '').varint(OnnxField.operatorSetId.version, spec.opset),
    );
  for (const key of Object.keys(spec.properties).sort())
    w.message(f.metadataProps, (e) =>
      e
        .string(OnnxField.stringStringEntry.key, key)
        .string(OnnxField.stringStringEntry.value, spec.properties[key] ?? ''),
    );
  return w.finish();
}

function writeGraph(w: ProtobufWriter, graph: OnnxModelSpec['graph']): void {
  const f = OnnxField.graph;
  for (const node of graph.nodes) w.message(f.node, (n) => writeNode(n, node));
  w.string(f.name, graph.name);
  for (const tensor of graph.initializers) w.message(f.initializer, (t) => writeTensor(t, tensor));
  w.string(f.docString, graph.docString);
  for (const input of graph.inputs) w.message(f.input, (v) => writeValueInfo(v, input));
  for (const output of graph.outputs) w.message(f.output, (v) => writeValueInfo(v, output));
}

function writeNode(w: ProtobufWriter, node: OnnxNode): void {
  const f = OnnxField.node;
  for (const input of node.inputs) w.string(f.input, input);
  for (const output of node.outputs) w.string(f.output, output);
  w.string(f.name, node.name).string(f.opType, node.opType);
  for (const attribute of node.attributes ?? [])
    w.message(f.attribute, (a) => {
      a.string(OnnxField.attribute.name, attribute.name);
      if ('float' in attribute.value)
        a.float(OnnxField.attribute.f, attribute.value.float).varint(
          OnnxField.attribute.type,
          OnnxAttributeType.float,
        );
      else
        a.varint(OnnxField.attribute.i, attribute.value.int).varint(
          OnnxField.attribute.type,
          OnnxAttributeType.int,
        );
    });
  if (node.docString !== undefined) w.string(f.docString, node.docString);
}

function writeTensor(w: ProtobufWriter, tensor: OnnxInitializer): void {
  const f = OnnxField.tensor;
  const count = tensor.dims.reduce((a, b) => a * b, 1);
  if (count !== tensor.values.length)
    throw new RangeError(
      `tensor ${tensor.name}: dims ${tensor.dims.join('×')} hold ${count} values, got ${tensor.values.length}`,
    );
  for (const d of tensor.dims) w.varint(f.dims, d);
  w.varint(f.dataType, OnnxDataType.float).string(f.name, tensor.name);
  // raw_data: fixed-width little-endian IEEE 754, as onnx.proto requires.
  const raw = new DataView(new ArrayBuffer(count * 4));
  for (let i = 0; i < count; i++) raw.setFloat32(i * 4, tensor.values[i] ?? 0, true);
  w.bytesField(f.rawData, new Uint8Array(raw.buffer));
  if (tensor.docString !== undefined) w.string(f.docString, tensor.docString);
}

function writeValueInfo(w: ProtobufWriter, value: OnnxValueInfo): void {
  w.string(OnnxField.valueInfo.name, value.name).message(OnnxField.valueInfo.type, (t) =>
    t.message(OnnxField.type.tensorType, (tt) =>
      tt
        .varint(OnnxField.tensorType.elemType, OnnxDataType.float)
        .message(OnnxField.tensorType.shape, (s) => {
          for (const dim of value.shape)
            s.message(OnnxField.shape.dim, (d) =>
              typeof dim === 'number'
                ? d.varint(OnnxField.dimension.dimValue, dim)
                : d.string(OnnxField.dimension.dimParam, dim),
            );
        }),
    ),
  );
  if (value.docString !== undefined) w.string(OnnxField.valueInfo.docString, value.docString);
}
