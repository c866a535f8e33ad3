/**
 * A plain generic CBOR decoder (RFC 8949 §3: definite lengths, tags unwrapped, floats, simple values)
 * for the stream bench's floor: bytes into JS values and nothing else — no validation beyond
 * well-formedness, no knowledge of what the items mean. What "a bare CBOR decode" costs when the
 * decoder is not in the way: cbor2, the library the project has, takes about a hundred times as long
 * as JSON.parse on a small item.
 */
export function decodeCborItem(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const argument = (info: number): number => {
    if (info < 24) return info;
    const size = 1 << (info - 24);
    const value =
      size === 1
        ? view.getUint8(at)
        : size === 2
          ? view.getUint16(at)
          : size === 4
            ? view.getUint32(at)
            : Number(view.getBigUint64(at));
    at += size;
    return value;
  };
  const item = (): unknown => {
    const head = view.getUint8(at++);
    const major = head >> 5;
    const info = head & 31;
    if (info >= 28) throw new Error(`unsupported CBOR head 0x${head.toString(16)}`);
    if (major === 7) {
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      if (info >= 25) {
        // Floats; a half float (info 25) is read as its 16 bits, never on this path.
        const size = 1 << (info - 24);
        at += size;
        if (size === 8) return view.getFloat64(at - 8);
        return size === 4 ? view.getFloat32(at - 4) : view.getUint16(at - 2);
      }
      return undefined;
    }
    const n = argument(info);
    switch (major) {
      case 0:
        return n;
      case 1:
        return -1 - n;
      case 2:
        at += n;
        return bytes.subarray(at - n, at);
      case 3:
        at += n;
        return new TextDecoder().decode(bytes.subarray(at - n, at));
      case 4:
        return Array.from({ length: n }, item);
      case 5: {
        const map = new Map<unknown, unknown>();
        for (let i = 0; i < n; i++) map.set(item(), item());
        return map;
      }
      default:
        return item(); // a tag: its content
    }
  };
  const value = item();
  if (at !== bytes.length) throw new Error('bytes after the CBOR item');
  return value;
}
