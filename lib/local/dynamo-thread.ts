import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { dynaliteOptions, type LocalDynamo, type LocalDynamoOptions, localDynamoAt } from './dynamo.ts';

/**
 * Starts dynalite on a worker thread: the same DynamoDB API on loopback as {@link startDynamo}, but its
 * work — request parsing, condition checks, LevelDB reads and writes — off the event loop that runs the
 * broker, the rules and the handlers. In AWS, DynamoDB is somebody else's computer; locally this gives
 * it the second core. Clients reach it over HTTP exactly as before.
 */
export async function startDynamoThread(options: LocalDynamoOptions): Promise<LocalDynamo> {
  const host = options.host ?? '127.0.0.1';
  const worker = new Worker(new URL('./dynamo-worker.mjs', import.meta.url), {
    workerData: { dynalite: dynaliteOptions(options.path), host, port: options.port ?? 0 },
  });
  let port: number;
  try {
    const [message] = (await Promise.race([
      once(worker, 'message'),
      once(worker, 'error').then(([error]) => Promise.reject(error)),
      once(worker, 'exit').then(([code]) =>
        Promise.reject(new Error(`the DynamoDB thread exited with ${code} before it listened`)),
      ),
    ])) as [{ port: number }];
    port = message.port;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return localDynamoAt(`http://${host}:${port}`, async () => {
    const exited = once(worker, 'exit');
    worker.postMessage('close');
    await exited;
  });
}
