import type { FirmwareStatus } from '../../lib/protocol/firmware.ts';
import { decodePageToken, encodePageToken } from '../adapters/page-token.ts';
import { byVersionDescending, type FirmwareMetadata, fitsDeviceType } from '../domain/firmware/metadata.ts';
import type { FirmwareCatalog } from '../domain/firmware/ports.ts';
import type { Page } from '../ports.ts';

/** `GET /firmware` filters and page. */
export interface FirmwareListQuery {
  readonly status?: FirmwareStatus;
  readonly deviceType?: string;
  readonly limit: number;
  readonly nextToken?: string;
}

/** Versions newest first (semantic version precedence), filtered, a page at a time. */
export async function listFirmware(
  catalog: FirmwareCatalog,
  query: FirmwareListQuery,
): Promise<Page<FirmwareMetadata>> {
  const after = query.nextToken === undefined ? undefined : decodePageToken(query.nextToken, ['after']).after;
  const all = [...(await catalog.list())]
    .filter((f) => query.status === undefined || f.status === query.status)
    .filter((f) => query.deviceType === undefined || fitsDeviceType(f, query.deviceType))
    .sort(byVersionDescending);
  const start = after === undefined ? 0 : all.findIndex((f) => f.version === after) + 1;
  const items = all.slice(start, start + query.limit);
  const last = items.at(-1);
  return start + query.limit < all.length && last !== undefined
    ? { items, nextToken: encodePageToken({ after: last.version }) }
    : { items };
}
