import { crc32 } from 'node:zlib';

/**
 * The record framing of the uplink's files on disk (queue segments and the open-batch journal):
 *
 * ```
 * offset  size  field
 * 0       4     payload length, uint32 little-endian, ≥ 1
 * 4       4     CRC-32 (zlib's, ISO-HDLC) of the length, the id and the payload
 * 8       8     record id, uint64 little-endian (< 2^53)
 * 16      n     payload
 * ```
 *
 * A power cut during an append leaves a prefix of a frame, or — on file systems that extend the size
 * before the data lands (ext4 delalloc) — a run of zero bytes. Both fail the checks here: a length of 0,
 * a length running past the end, or a CRC mismatch. The first bad frame ends the valid part of a file.
 */

export const FRAME_HEADER_BYTES = 16;

/** One frame found in a file: where it starts, its id, and its payload's place and size. */
export interface FrameRef {
  readonly id: number;
  /** Offset of the frame's first header byte. */
  readonly offset: number;
  /** Payload bytes (the frame is {@link FRAME_HEADER_BYTES} more). */
  readonly length: number;
}

function checksum(header: Uint8Array, payload: Uint8Array): number {
  // Length and id are covered too: a flipped length bit must not frame a different payload that passes.
  return crc32(payload, crc32(header.subarray(8, 16), crc32(header.subarray(0, 4))));
}

/** The frame of one record. */
export function encodeFrame(id: number, payload: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`frame id must be a safe uint, got ${id}`);
  if (payload.length === 0 || payload.length > 0xffffffff)
    throw new RangeError(`frame payload must be 1 to 2^32-1 bytes, got ${payload.length}`);
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, payload.length, true);
  view.setBigUint64(8, BigInt(id), true);
  frame.set(payload, FRAME_HEADER_BYTES);
  view.setUint32(4, checksum(frame, payload), true);
  return frame;
}

/** The valid frames at the start of `bytes`, and where the valid part ends (and why, if before the end). */
export interface FrameScan {
  readonly frames: FrameRef[];
  readonly validBytes: number;
  /** Why the bytes after {@link validBytes} are not a frame; undefined when every byte was framed. */
  readonly problem?: string;
}

/**
 * Reads frames from the start of `bytes` until the first one that fails its checks.
 *
 * @param afterId ids must rise: a frame whose id is not above the previous one (or this) is damage
 */
export function scanFrames(bytes: Uint8Array, afterId = -1): FrameScan {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: FrameRef[] = [];
  let offset = 0;
  let lastId = afterId;
  const stop = (problem: string): FrameScan => ({ frames, validBytes: offset, problem });
  while (offset < bytes.length) {
    if (bytes.length - offset < FRAME_HEADER_BYTES) return stop('a header cut short');
    const length = view.getUint32(offset, true);
    if (length === 0) return stop('a zero length');
    if (length > bytes.length - offset - FRAME_HEADER_BYTES) return stop('a payload cut short');
    const header = bytes.subarray(offset, offset + FRAME_HEADER_BYTES);
    const payload = bytes.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length);
    if (checksum(header, payload) !== view.getUint32(offset + 4, true)) return stop('a CRC mismatch');
    const id = Number(view.getBigUint64(offset + 8, true));
    if (!Number.isSafeInteger(id) || id <= lastId) return stop(`an id (${id}) not above the one before`);
    frames.push({ id, offset, length });
    lastId = id;
    offset += FRAME_HEADER_BYTES + length;
  }
  return { frames, validBytes: offset };
}
