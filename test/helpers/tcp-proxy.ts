// A TCP relay in front of a real server, for the failure a pooled connection meets after a server host
// rebooted or a firewall dropped its state: the socket looks open until the client writes, then is reset.
import net from 'node:net';

export interface Relay {
  port: number;
  /** Ends the server side of every relayed connection; each client side is reset at its next write. */
  severSilently(): void;
  close(): Promise<void>;
}

export async function relay(host: string, port: number): Promise<Relay> {
  const pairs = new Set<{ client: net.Socket; server: net.Socket }>();
  const severed = new Set<net.Socket>();
  const srv = net.createServer((client) => {
    const server = net.connect(port, host);
    const pair = { client, server };
    pairs.add(pair);
    client.pipe(server);
    server.pipe(client);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: (srv.address() as net.AddressInfo).port,
    severSilently() {
      for (const pair of pairs) {
        pairs.delete(pair);
        const { client, server } = pair;
        client.unpipe(server);
        server.unpipe(client);
        server.removeAllListeners('close').removeAllListeners('error').on('error', () => {});
        client.removeAllListeners('close').removeAllListeners('error').on('error', () => {});
        server.destroy();
        severed.add(client);
        client.on('close', () => severed.delete(client));
        client.once('data', () => client.resetAndDestroy());
        // unpiping paused it: the client's next write must reach the 'data' listener
        client.resume();
      }
    },
    async close() {
      for (const { client, server } of pairs) {
        client.destroy();
        server.destroy();
      }
      for (const client of severed) client.destroy();
      await new Promise((resolve) => srv.close(resolve));
    },
  };
}
