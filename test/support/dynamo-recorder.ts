import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

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
