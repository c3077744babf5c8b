// A user's own HTTP API as the event source of a metrics-api trigger: serves {"queue": {"depth": N}}.
// hold() makes it a slow backend on demand: requests are answered only at release(), so a test can
// act while a pass is mid-measure, without guessing how long the pass takes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetricsServer {
  url: string;
  set(value: number): void;
  requests: number;
  /** from now on, answer no request until release() */
  hold(): void;
  /** answer the held requests, and the next ones at once */
  release(): void;
  /** resolves once a request is being held */
  holding(): Promise<void>;
  close(): Promise<void>;
}

export async function startMetricsServer(initial = 0): Promise<MetricsServer> {
  let value = initial;
  let gate: { released: Promise<void>; open: () => void } | undefined;
  let held = 0;
  let onHeld: (() => void)[] = [];
  const s: MetricsServer = {
    url: '', requests: 0,
    set(v) { value = v; },
    hold() {
      let open!: () => void;
      const released = new Promise<void>((r) => (open = r));
      gate = { released, open };
    },
    release() {
      gate?.open();
      gate = undefined;
      held = 0;
    },
    holding: () => (held > 0 ? Promise.resolve() : new Promise((r) => onHeld.push(r))),
    close: () => {
      s.release();
      return new Promise((r) => server.close(() => r()));
    },
  };
  const server = http.createServer((req, res) => {
    s.requests++;
    const answer = () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ queue: { depth: value } }));
    };
    if (!gate) return answer();
    held++;
    const waiting = onHeld;
    onHeld = [];
    for (const w of waiting) w();
    void gate.released.then(answer);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats`;
  return s;
}
