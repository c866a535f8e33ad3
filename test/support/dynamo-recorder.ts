import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toApiGatewayEvent } from '../../lib/local/apigw-event.ts';
import { localResourceName } from '../../lib/local/names.ts';
import { accessParts, tableActions } from '../../lib/topology/access.ts';
import type { RouteKey, Topology } from '../../lib/topology/model.ts';

/** One DynamoDB call as it went over the wire: the IAM action it needs, and the table it named. */
export interface DynamoCall {
  /** `dynamodb:Scan`, `dynamodb:BatchWriteItem`, ... */
  readonly action: string;
  readonly table: string;
  /** Set when a Query or Scan named an index. */
  readonly index?: string;
}

/** A loopback proxy in front of a DynamoDB endpoint (dynalite) that notes every call it forwards. */
export interface DynamoRecorder {
  readonly endpoint: string;
  readonly calls: DynamoCall[];
  close(): Promise<void>;
}

/**
 * The tables a DynamoDB request names: `TableName`, or the keys of `RequestItems` for the batch
 * operations (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Operations_Amazon_DynamoDB.html).
 */
function callsOf(target: string, body: string): DynamoCall[] {
  const operation = target.split('.')[1] ?? target;
  const action = `dynamodb:${operation}`;
  const parsed = JSON.parse(body) as { TableName?: string; IndexName?: string; RequestItems?: object };
  if (parsed.RequestItems !== undefined) {
    return Object.keys(parsed.RequestItems).map((table) => ({ action, table }));
  }
  return [
    {
      action,
      table: parsed.TableName ?? '',
      ...(parsed.IndexName === undefined ? {} : { index: parsed.IndexName }),
    },
  ];
}

/** Starts the recorder; calls reach `target` unchanged, answers come back unchanged. */
export async function startDynamoRecorder(target: string): Promise<DynamoRecorder> {
  const upstream = new URL(target);
  const calls: DynamoCall[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      calls.push(...callsOf(String(req.headers['x-amz-target'] ?? ''), body.toString('utf8')));
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', (error) => {
        res.writeHead(502);
        res.end(error.message);
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The topology resource a local table name belongs to (the name itself when none does). */
export function tableResource(topology: Topology, tableName: string): string {
  return Object.keys(topology.resources).find((name) => localResourceName(name) === tableName) ?? tableName;
}

/**
 * The calls function `name` made that its `uses` do not grant, described; empty when all are granted.
 * The grant is `tableActions`, the list the IAM policy is rendered from; indexes are granted to reads
 * (Query) only, as `resource-access.ts` names them.
 */
export function callsOutsideGrants(topology: Topology, name: string, calls: readonly DynamoCall[]): string[] {
  const uses = topology.functions[name]?.uses ?? {};
  return calls.flatMap((call) => {
    const resourceName = tableResource(topology, call.table);
    const use = Object.hasOwn(uses, resourceName) ? uses[resourceName] : undefined;
    if (use === undefined) return [`${call.action} on ${resourceName}, not used`];
    if (!tableActions(use).includes(call.action)) {
      return [`${call.action} on ${resourceName} (${JSON.stringify(use)})`];
    }
    const resource = topology.resources[resourceName];
    const indexed = resource?.kind === 'table' && (resource.indexes ?? []).some((i) => i.name === call.index);
    const readsIndex = indexed && call.action === 'dynamodb:Query' && accessParts(use).includes('read');
    return call.index === undefined || readsIndex
      ? []
      : [`${call.action} on index ${resourceName}/${call.index}`];
  });
}

/** An API Gateway v2 event for `routeKey` at `path`, as the local gateway builds it. */
export function apiEvent(
  routeKey: RouteKey,
  path: string,
  body: unknown,
  pathParameters: Record<string, string>,
  now: number,
) {
  return toApiGatewayEvent({
    method: routeKey.slice(0, routeKey.indexOf(' ')),
    url: new URL(path, 'http://localhost'),
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
    sourceIp: '127.0.0.1',
    routeKey,
    pathParameters,
    now,
  });
}
