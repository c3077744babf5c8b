// A user's own HTTP API as the event source of a metrics-api trigger: serves {"queue": {"depth": N}}.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetricsServer {
  url: string;
  set(value: number): void;
  requests: number;
  close(): Promise<void>;
}

export async function startMetricsServer(initial = 0): Promise<MetricsServer> {
  let value = initial;
  const s: MetricsServer = {
    url: '', requests: 0,
    set(v) { value = v; },
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server = http.createServer((req, res) => {
    s.requests++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ queue: { depth: value } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats`;
  return s;
}
