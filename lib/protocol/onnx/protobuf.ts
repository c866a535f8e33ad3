/**
 * The protobuf wire format (https://protobuf.dev/programming-guides/encoding/), just the parts an
 * ONNX file needs: varints (wire type 0), 32-bit little-endian values (wire type 5) and
 * length-delimited bytes, strings and sub-messages (wire type 2). 64-bit fixed values (wire type 1)
 * are only skipped. No dependency: the agent and the model registry read a model's metadata with it (the training side
 * writes models with `onnx-proto`, which would add about 250 KB to the edge bundle).
 */

/** Wire types of the protobuf encoding. */
export const WireType = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;

/** Bytes that are not the protobuf message the reader expected. */
export class MalformedProtobufError extends Error {
  override readonly name = 'MalformedProtobufError';
}

const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

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
