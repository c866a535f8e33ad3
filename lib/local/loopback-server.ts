import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A listening embedded HTTP server: its base URL, and how to stop it (open connections included). */
export interface ListeningServer {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Starts `server` on `host:port` (0: a free port) and resolves once it listens. */
export async function listen(server: Server, host: string, port: number): Promise<ListeningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    endpoint: `http://${host}:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
