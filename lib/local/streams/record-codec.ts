import type { OutgoingRecord } from '../../../lambdas/ports.ts';
import { InvalidRecordError } from './errors.ts';

/**
 * The embedded log's on-disk record format. A segment file is an 8-byte magic followed by frames:
 *
 * ```
 * frame  = u32 bodyLength | u32 crc32(body) | body                      (big-endian)
 * body   = u64 offset | u64 timestamp ms | i32 keyLength (-1: null) | key
 *        | i32 valueLength (-1: null) | value | u16 headerCount
 *        | headerCount × (u16 nameLength | name UTF-8 | u32 valueLength | value)
 * ```
 *
 * Binary and length-prefixed rather than JSON lines so values stay raw bytes (no base64 growth); the
 * CRC is what tells a torn or garbled tail from a record: a crash mid-write leaves a frame whose length
 * runs past the end of the file or whose CRC does not match, and recovery cuts the file there.
 */

/** First bytes of every segment file: format name and version. */
export const SEGMENT_MAGIC = Buffer.from('FKLOG\u0000\u0000\u0001', 'latin1');

/** Frame header: body length and CRC. */
export const FRAME_HEADER_BYTES = 8;

/** A record as stored: offsets are numbers here (2^53 is far beyond what one local log reaches). */
export interface StoredRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer>>;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zlib): `zlib.crc32` only exists from Node 20.15, and engines allow any 20. */
export function crc32(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = (CRC_TABLE[(crc ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Bytes one record takes on disk, frame header included. */
export function encodedSize(record: Omit<StoredRecord, 'offset' | 'timestamp'>): number {
  let size = FRAME_HEADER_BYTES + 8 + 8 + 4 + (record.key?.length ?? 0) + 4 + (record.value?.length ?? 0) + 2;
  for (const [name, value] of Object.entries(record.headers)) {
    size += 2 + Buffer.byteLength(name) + 4 + value.length;
  }
  return size;
}

/** Encodes records into consecutive frames in one buffer (one write, one fsync per produce call). */
export function encodeRecords(records: readonly StoredRecord[]): Buffer {
  const out = Buffer.allocUnsafe(records.reduce((sum, record) => sum + encodedSize(record), 0));
  let at = 0;
  for (const record of records) {
    const frameStart = at;
    at += FRAME_HEADER_BYTES;
    out.writeBigUInt64BE(BigInt(record.offset), at);
    out.writeBigUInt64BE(BigInt(record.timestamp), at + 8);
    at += 16;
    for (const bytes of [record.key, record.value]) {
      out.writeInt32BE(bytes === null ? -1 : bytes.length, at);
      at += 4;
      if (bytes !== null) at += bytes.copy(out, at);
    }
    const headers = Object.entries(record.headers);
    out.writeUInt16BE(headers.length, at);
    at += 2;
    for (const [name, value] of headers) {
      const nameLength = out.write(name, at + 2, 'utf8');
      out.writeUInt16BE(nameLength, at);
      at += 2 + nameLength;
      out.writeUInt32BE(value.length, at);
      at += 4 + value.copy(out, at + 4);
    }
    const bodyStart = frameStart + FRAME_HEADER_BYTES;
    out.writeUInt32BE(at - bodyStart, frameStart);
    out.writeUInt32BE(crc32(out, bodyStart, at), frameStart + 4);
  }
  return out;
}

/** What {@link decodeFrames} found. */
export interface DecodeResult {
  readonly records: StoredRecord[];
  /** Bytes of `buffer` taken by the decoded records. */
  readonly bytesUsed: number;
  /**
   * Why decoding stopped before the end of the buffer: `incomplete` — the next frame runs past the
   * buffer (read more, or, at the end of a file, a torn write); `corrupt` — its CRC or structure is
   * wrong, or its offset is not the next one.
   */
  readonly stop: 'end' | 'limit' | 'incomplete' | 'corrupt';
}

function decodeBody(body: Buffer): StoredRecord | undefined {
  let at = 16;
  const readBytes = (): Buffer | null | undefined => {
    if (at + 4 > body.length) return undefined;
    const length = body.readInt32BE(at);
    at += 4;
    if (length === -1) return null;
    if (length < 0 || at + length > body.length) return undefined;
    // A copy, so a record handed to a consumer does not pin the whole read buffer.
    const bytes = Buffer.from(body.subarray(at, at + length));
    at += length;
    return bytes;
  };
  if (body.length < 16) return undefined;
  const offset = Number(body.readBigUInt64BE(0));
  const timestamp = Number(body.readBigUInt64BE(8));
  const key = readBytes();
  const value = readBytes();
  if (key === undefined || value === undefined || at + 2 > body.length) return undefined;
  const count = body.readUInt16BE(at);
  at += 2;
  const headers: Record<string, Buffer> = {};
  for (let i = 0; i < count; i++) {
    if (at + 2 > body.length) return undefined;
    const nameLength = body.readUInt16BE(at);
    at += 2;
    if (at + nameLength + 4 > body.length) return undefined;
    const name = body.toString('utf8', at, at + nameLength);
    at += nameLength;
    const valueLength = body.readUInt32BE(at);
    at += 4;
    if (at + valueLength > body.length) return undefined;
    headers[name] = Buffer.from(body.subarray(at, at + valueLength));
    at += valueLength;
  }
  if (at !== body.length) return undefined;
  return { offset, timestamp, key, value, headers };
}

/**
 * Decodes consecutive frames from `buffer`, expecting the first to carry `firstOffset` and each next
 * one the following offset, until `maxRecords` are decoded or the buffer ends.
 */
export function decodeFrames(buffer: Buffer, firstOffset: number, maxRecords = Infinity): DecodeResult {
  const records: StoredRecord[] = [];
  let at = 0;
  while (records.length < maxRecords) {
    if (at === buffer.length) return { records, bytesUsed: at, stop: 'end' };
    if (at + FRAME_HEADER_BYTES > buffer.length) return { records, bytesUsed: at, stop: 'incomplete' };
    const length = buffer.readUInt32BE(at);
    const bodyStart = at + FRAME_HEADER_BYTES;
    if (bodyStart + length > buffer.length) return { records, bytesUsed: at, stop: 'incomplete' };
    if (crc32(buffer, bodyStart, bodyStart + length) !== buffer.readUInt32BE(at + 4)) {
      return { records, bytesUsed: at, stop: 'corrupt' };
    }
    const record = decodeBody(buffer.subarray(bodyStart, bodyStart + length));
    if (record === undefined || record.offset !== firstOffset + records.length) {
      return { records, bytesUsed: at, stop: 'corrupt' };
    }
    records.push(record);
    at = bodyStart + length;
  }
  return { records, bytesUsed: at, stop: 'limit' };
}

/** The length a frame starting at `buffer[0]` needs in total, or undefined when its header is not there. */
export function frameLength(buffer: Buffer): number | undefined {
  return buffer.length < FRAME_HEADER_BYTES ? undefined : FRAME_HEADER_BYTES + buffer.readUInt32BE(0);
}

/** A produced record as the log stores it (UTF-8 key and headers, bytes as given), stamped `timestamp`. */
export function toStoredRecord(record: OutgoingRecord, timestamp: number): Omit<StoredRecord, 'offset'> {
  const value =
    typeof record.value === 'string'
      ? Buffer.from(record.value, 'utf8')
      : Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength);
  const headers: Record<string, Buffer> = {};
  const entries = Object.entries(record.headers ?? {});
  // The record format's limits (u16 header count and name length); Kafka's are larger but never needed here.
  if (entries.length > 0xffff)
    throw new InvalidRecordError(`a record has ${entries.length} headers; at most 65535`);
  for (const [name, text] of entries) {
    if (Buffer.byteLength(name) > 0xffff)
      throw new InvalidRecordError('a header name is longer than 65535 bytes');
    headers[name] = Buffer.from(text, 'utf8');
  }
  return { timestamp, key: Buffer.from(record.key, 'utf8'), value, headers };
}
