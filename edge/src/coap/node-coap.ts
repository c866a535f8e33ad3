import { type IncomingMessage, ObserveWriteStream, type OutgoingMessage } from 'coap';
import type { CoapReply, CoapRequestInfo } from './messages.ts';

/** The node-coap side of the gateway: its requests in, the gateway's replies out. */

/** Sends `reply` as the one response to a request. */
export function sendOnce(res: OutgoingMessage | ObserveWriteStream, reply: CoapReply): void {
  if (reply.contentFormat !== undefined) res.setOption('Content-Format', reply.contentFormat);
  if (reply.maxAge !== undefined) res.setOption('Max-Age', reply.maxAge);
  if (reply.size1 !== undefined) res.setOption('Size1', reply.size1);
  if (reply.locationPath !== undefined)
    res.setOption(
      'Location-Path',
      reply.locationPath.map((segment) => Buffer.from(segment)),
    );
  const payload = reply.payload === undefined ? undefined : Buffer.from(reply.payload);
  if (res instanceof ObserveWriteStream) {
    // A GET with Observe: 0 that does not become an observation (an error, a resource that cannot be
    // observed, no room) is answered once without an Observe option (RFC 7641 §4.1). node-coap's
    // observe stream adds one on every write, so the single response goes out through `_doSend`.
    res.statusCode = reply.code;
    res._doSend(payload);
    return;
  }
  res.code = reply.code;
  res.end(payload);
}

export function toRequestInfo(req: IncomingMessage): CoapRequestInfo {
  const path = (req.url.split('?')[0] ?? '').split('/').filter((segment) => segment.length > 0);
  const contentFormat = req.headers['Content-Format'];
  const accept = req.headers.Accept;
  return {
    method: req.method,
    path,
    ...(typeof contentFormat === 'string' || typeof contentFormat === 'number' ? { contentFormat } : {}),
    ...(typeof accept === 'string' || typeof accept === 'number' ? { accept } : {}),
    payload:
      req.payload === undefined || req.payload === null
        ? new Uint8Array()
        : new Uint8Array(req.payload.buffer, req.payload.byteOffset, req.payload.byteLength),
  };
}
