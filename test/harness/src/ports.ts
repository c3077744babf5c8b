// Free loopback ports, all taken at once and held until every number is known, so two of ours never collide.
import net from 'node:net';

// Well-known defaults of the components we start (and client-node's plain-http heuristics): never hand these out.
const AVOID = new Set([80, 8080, 8001, 2379, 2380, 6443, 10257, 4317, 4318, 8888, 8889, 9090, 9100]);

export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < n) {
      const s = net.createServer();
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
      servers.push(s);
      const p = (s.address() as net.AddressInfo).port;
      if (!AVOID.has(p)) ports.push(p);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}
