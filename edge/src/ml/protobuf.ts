/**
 * The protobuf wire format (https://protobuf.dev/programming-guides/encoding/), just the parts an
 * ONNX file needs: varints (wire type 0), 32-bit little-endian values (wire type 5) and
 * length-delimited bytes, strings and sub-messages (wire type 2). 64-bit fixed values (wire type 1)
 * are only skipped. No dependency: the agent reads a model's metadata with it, the training script
 * writes the model with it.
 */

/** Wire types of the protobuf encoding. */
export const WireType = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;

/** Bytes that are not the protobuf message the reader expected. */
export class MalformedProtobufError extends Error {
  override readonly name = 'MalformedProtobufError';
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Builds one message. Values are appended in call order; repeated fields are written by calling
 * the same method again. Integers must be non-negative and at most 2^53 − 1 (ONNX dims, versions
 * and enums are): a negative int64 would need ten bytes of two's complement, which nothing here uses.
 */
export class ProtobufWriter {
  private readonly bytes: number[] = [];

  private tag(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  private rawVarint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`varint must be a non-negative safe integer, got ${value}`);
    let v = value;
    // Seven bits per byte, least significant group first, high bit set on all but the last byte.
    while (v >= 0x80) {
      this.bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.bytes.push(v);
  }

  /** A varint field (`int32`, `int64`, enum). */
  varint(field: number, value: number): this {
    this.tag(field, WireType.varint);
    this.rawVarint(value);
    return this;
  }

  /** A `float` field: 32-bit IEEE 754, little-endian. */
  float(field: number, value: number): this {
    this.tag(field, WireType.fixed32);
    const buffer = new DataView(new ArrayBuffer(4));
    buffer.setFloat32(0, value, true);
    for (let i = 0; i < 4; i++) this.bytes.push(buffer.getUint8(i));
    return this;
  }

  /** A `bytes` field. */
  bytesField(field: number, data: Uint8Array): this {
    this.tag(field, WireType.lengthDelimited);
    this.rawVarint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }

  /** A `string` field, UTF-8. */
  string(field: number, value: string): this {
    return this.bytesField(field, utf8.encode(value));
  }

  /** A sub-message field, built by `build` on a fresh writer. */
  message(field: number, build: (writer: ProtobufWriter) => void): this {
    const child = new ProtobufWriter();
    build(child);
    return this.bytesField(field, child.finish());
  }

  /** The encoded message. */
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** One field as read off the wire: a number for varint and fixed32 fields, the bytes otherwise. */
export type ProtobufField =
  | { readonly field: number; readonly wireType: 0; readonly value: number }
  | { readonly field: number; readonly wireType: 5; readonly value: number }
  | { readonly field: number; readonly wireType: 1; readonly value: Uint8Array }
  | { readonly field: number; readonly wireType: 2; readonly value: Uint8Array };

/**
 * Reads the fields of one message, in wire order, without knowing its schema; sub-messages come back
 * as bytes to read again. Varints beyond 2^53 lose precision (nothing in ONNX metadata is that big).
 * Throws {@link MalformedProtobufError} on truncated data, unknown wire types or field number 0.
 */
export function* readFields(bytes: Uint8Array): Generator<ProtobufField> {
  let at = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (at >= bytes.length) throw new MalformedProtobufError(`truncated varint at byte ${at}`);
      const b = bytes[at++] ?? 0;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
    throw new MalformedProtobufError(`varint longer than 10 bytes before byte ${at}`);
  };
  const take = (length: number): Uint8Array => {
    if (length > bytes.length - at)
      throw new MalformedProtobufError(
        `field of ${length} bytes at byte ${at} runs past the end (${bytes.length})`,
      );
    const slice = bytes.subarray(at, at + length);
    at += length;
    return slice;
  };
  while (at < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 0) throw new MalformedProtobufError(`field number 0 before byte ${at}`);
    switch (wireType) {
      case WireType.varint:
        yield { field, wireType, value: varint() };
        break;
      case WireType.fixed32: {
        const b = take(4);
        yield { field, wireType, value: new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true) };
        break;
      }
      case WireType.fixed64:
        yield { field, wireType, value: take(8) };
        break;
      case WireType.lengthDelimited:
        yield { field, wireType, value: take(varint()) };
        break;
      default:
        throw new MalformedProtobufError(`unsupported wire type ${wireType} for field ${field}`);
    }
  }
}

/** Decodes a `string` field's bytes; invalid UTF-8 is a malformed message. */
export function decodeString(bytes: Uint8Array): string {
  try {
    return fromUtf8.decode(bytes);
  } catch {
    throw new MalformedProtobufError('string field is not valid UTF-8');
  }
}
