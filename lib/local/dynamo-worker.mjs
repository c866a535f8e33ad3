// The embedded DynamoDB API on a thread of its own (see dynamo-thread.ts). Plain JavaScript: a worker
// thread loads it without a TypeScript loader. The parent sends the dynalite options and where to
// listen; it answers with the port, and closes the server (and every connection still open) on 'close'.
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

const server = dynalite(workerData.dynalite);
server.once('error', (error) => {
  throw error;
});
server.listen(workerData.port, workerData.host, () => {
  parentPort.postMessage({ port: server.address().port });
});
parentPort.on('message', (message) => {
  if (message !== 'close') return;
  server.close(() => parentPort.close());
  server.closeAllConnections();
});
