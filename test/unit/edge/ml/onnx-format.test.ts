import { readFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { encodeOnnxModel, type OnnxModelSpec } from '../../../../edge/model/onnx-writer.ts';
import { FEATURE_NAMES, FEATURE_SET } from '../../../../edge/src/ml/features.ts';
import { readOnnxMetadata } from '../../../../lib/protocol/onnx/onnx-metadata.ts';
import { MalformedProtobufError, readFields } from '../../../../lib/protocol/onnx/protobuf.ts';
import { COMMITTED_MODEL_PATH } from './support.ts';

const { onnx } = onnxProto;
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('protobuf wire format, as the agent reads it', () => {
  it.each<[string, string, [number, number, number | string]]>([
    // The examples of https://protobuf.dev/programming-guides/encoding/
    ['varint 150 in field 1', '089601', [1, 0, 150]],
    ['string "testing" in field 2', '120774657374696e67', [2, 2, '74657374696e67']],
    ['sub-message {1: 150} in field 3', '1a03089601', [3, 2, '089601']],
    ['varint 0', '0800', [1, 0, 0]],
    ['varint 2^35 (an int64 beyond 32 bits)', '08808080808001', [1, 0, 2 ** 35]],
    ['field 14 (metadata_props): key 14 · 8 + 2 = 114 fits one byte', '7200', [14, 2, '']],
    ['field 20 (AttributeProto.type): key 160 takes two bytes', 'a00102', [20, 0, 2]],
    ['float 1.5, little-endian IEEE 754', '150000c03f', [2, 5, 1.5]],
  ])('reads %s', (_name, bytes, expected) => {
    // Act
    const fields = [...readFields(Buffer.from(bytes, 'hex'))].map((f) => [
      f.field,
      f.wireType,
      f.value instanceof Uint8Array ? hex(f.value) : f.value,
    ]);
    // Assess
    expect(fields).toEqual([expected]);
  });

  it('reads what protobufjs writes for an ONNX message, field by field', () => {
    // Prepare: an opset import whose version is past 2^32, and a non-ASCII domain
    const bytes = onnx.OperatorSetIdProto.encode({ domain: 'héllo', version: 2 ** 40 + 7 }).finish();
    // Act
    const fields = [...readFields(bytes)].map((f) => [
      f.field,
      f.wireType,
      f.value instanceof Uint8Array ? hex(f.value) : f.value,
    ]);
    // Assess
    expect(fields).toEqual([
      [1, 2, hex(new TextEncoder().encode('héllo'))],
      [2, 0, 2 ** 40 + 7],
    ]);
  });

  it.each([
    ['a truncated varint', '0896'],
    ['a length past the end', '1205616263'],
    ['a start-group wire type', '0b'],
    ['field number 0', '0001'],
    ['a varint longer than ten bytes', `08${'ff'.repeat(11)}01`],
  ])('refuses %s', (_name, bytes) => {
    // Prepare
    const data = Buffer.from(bytes, 'hex');
    // Act
    const read = () => [...readFields(data)];
    // Assess
    expect(read).toThrow(MalformedProtobufError);
  });
});

/** y = Sigmoid(x · Wᵀ + b) with W = [[1, −2], [0.5, 0.25]], b = [0.1, −0.3]: numbers to check by hand. */
const tinySpec: OnnxModelSpec = {
  irVersion: 8,
  opset: 17,
  producerName: 'fleetkit-test',
  producerVersion: '0.0.1',
  domain: 'dev.fleetkit.test',
  modelVersion: 3,
  docString: 'a hand-checkable model',
  graph: {
    name: 'tiny',
    docString: 'Gemm (transB) then Sigmoid',
    inputs: [{ name: 'x', shape: ['n', 2] }],
    outputs: [{ name: 'y', shape: ['n', 2] }],
    initializers: [
      { name: 'W', dims: [2, 2], values: [1, -2, 0.5, 0.25] },
      { name: 'b', dims: [2], values: [0.1, -0.3] },
    ],
    nodes: [
      {
        name: 'dense',
        opType: 'Gemm',
        inputs: ['x', 'W', 'b'],
        outputs: ['z'],
        attributes: [
          { name: 'alpha', value: { float: 1 } },
          { name: 'transB', value: { int: 1 } },
        ],
      },
      { name: 'squash', opType: 'Sigmoid', inputs: ['z'], outputs: ['y'] },
    ],
  },
  properties: { b: '2', a: '1' },
};
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('ONNX writer', () => {
  it('writes a model onnxruntime loads and computes with (initializers, transB, raw_data byte order)', async () => {
    // Prepare
    const session = await InferenceSession.create(encodeOnnxModel(tinySpec));
    const x = new Tensor('float32', Float32Array.from([1, 2, -1, 0.5]), [2, 2]);
    // Act
    const y = (await session.run({ x })).y?.data as Float32Array;
    await session.release();
    // Assess
    const expected = [
      sigmoid(1 * 1 + 2 * -2 + 0.1),
      sigmoid(1 * 0.5 + 2 * 0.25 - 0.3),
      sigmoid(-1 * 1 + 0.5 * -2 + 0.1),
      sigmoid(-1 * 0.5 + 0.5 * 0.25 - 0.3),
    ];
    expect([...y].map((v, i) => v - (expected[i] ?? 0)).every((d) => Math.abs(d) < 1e-6)).toBe(true);
  });

  it('writes the input and output signature onnxruntime reports', async () => {
    // Prepare
    const session = await InferenceSession.create(encodeOnnxModel(tinySpec));
    // Act
    const { inputMetadata, outputMetadata } = session;
    await session.release();
    // Assess
    expect(inputMetadata).toEqual([{ name: 'x', isTensor: true, type: 'float32', shape: ['n', 2] }]);
    expect(outputMetadata).toEqual([{ name: 'y', isTensor: true, type: 'float32', shape: ['n', 2] }]);
  });

  it('writes the model metadata the agent reads back (properties in key order)', () => {
    // Prepare
    const bytes = encodeOnnxModel(tinySpec);
    // Act
    const metadata = readOnnxMetadata(bytes);
    // Assess
    expect(metadata).toEqual({
      irVersion: 8,
      opsets: [{ domain: '', version: 17 }],
      producerName: 'fleetkit-test',
      producerVersion: '0.0.1',
      domain: 'dev.fleetkit.test',
      modelVersion: 3,
      docString: 'a hand-checkable model',
      graphName: 'tiny',
      // The initializers W and b are not inputs, although IR < 4 would list them as such.
      inputs: [{ name: 'x', type: 'float32', shape: ['n', 2] }],
      outputs: [{ name: 'y', type: 'float32', shape: ['n', 2] }],
      properties: { a: '1', b: '2' },
    });
    expect(Object.keys(metadata.properties)).toEqual(['a', 'b']);
  });

  it('reads the same inputs and outputs from the committed model as onnxruntime reports', async () => {
    // Prepare: the cloud's model registry has no runtime; what it reads must be what a device's session sees.
    const bytes = await readFile(COMMITTED_MODEL_PATH);
    const session = await InferenceSession.create(bytes);
    const fromRuntime = {
      inputs: session.inputMetadata.map((m) => ({
        name: m.name,
        type: m.isTensor ? m.type : '',
        shape: m.isTensor ? m.shape : [],
      })),
      outputs: session.outputMetadata.map((m) => ({
        name: m.name,
        type: m.isTensor ? m.type : '',
        shape: m.isTensor ? m.shape : [],
      })),
    };
    await session.release();
    // Act
    const { inputs, outputs } = readOnnxMetadata(bytes);
    // Assess
    expect({ inputs, outputs }).toEqual(fromRuntime);
    expect(inputs).toEqual([{ name: 'features', type: 'float32', shape: ['batch', FEATURE_NAMES.length] }]);
  });

  it('refuses initializer values that do not fill the declared dims', () => {
    // Prepare
    const spec = {
      ...tinySpec,
      graph: { ...tinySpec.graph, initializers: [{ name: 'W', dims: [2, 2], values: [1, 2, 3] }] },
    };
    // Act
    const encode = () => encodeOnnxModel(spec);
    // Assess
    expect(encode).toThrow(/W: dims 2×2 hold 4 values, got 3/);
  });
});

describe('the committed model file', () => {
  it('declares IR 8, opset 17, its producer, version and the features the agent extracts', async () => {
    // Prepare
    const bytes = await readFile(COMMITTED_MODEL_PATH);
    // Act
    const metadata = readOnnxMetadata(bytes);
    // Assess
    expect(metadata).toMatchObject({
      irVersion: 8,
      opsets: [{ domain: '', version: 17 }],
      producerName: 'fleetkit-train',
      graphName: 'fleetkit_anomaly_mlp',
      modelVersion: 1_000_000,
    });
    expect(metadata.docString).toMatch(/anomaly score per window/i);
    expect(metadata.properties).toMatchObject({
      'fleetkit.version': '1.0.0',
      'fleetkit.feature_set': FEATURE_SET,
      'fleetkit.features': FEATURE_NAMES.join(','),
      'fleetkit.window_length': '60',
      'fleetkit.threshold': '0.5',
    });
  });
});
