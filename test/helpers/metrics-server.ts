// A user's own HTTP API as the event source of a metrics-api trigger: serves {"queue": {"depth": N}}.
// A test can make it slow (every answer after `delayMs`) or hold its answers until released, to act
// while a pass is known to be between its reads and its writes: `held()` resolves once a request of
// the pass is waiting at the server, which is the server's own acknowledgement, not a guessed delay.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetricsServer {
  url: string;
  set(value: number): void;
  requests: number;
  /** requests being answered right now, and the most there ever were at once */
  inFlight: number;
  maxInFlight: number;
  /** answer every request this much later */
  delayMs: number;
  /** from now on, keep every answer until release() */
  hold(): void;
  /** resolves when a request is being held */
  held(): Promise<void>;
  /** answer the held requests and stop holding */
  release(): void;
  close(): Promise<void>;
}

export async function startMetricsServer(initial = 0): Promise<MetricsServer> {
  let value = initial;
  let holding = false;
  let waiting: (() => void)[] = [];
  let onHeld: (() => void)[] = [];
  const s: MetricsServer = {
    url: '', requests: 0, inFlight: 0, maxInFlight: 0, delayMs: 0,
    set(v) { value = v; },
    hold() { holding = true; },
    held: () => new Promise((r) => { if (waiting.length) r(); else onHeld.push(r); }),
    release() {
      holding = false;
      const w = waiting;
      waiting = [];
      for (const f of w) f();
    },
    close: () => new Promise((r) => { s.release(); server.closeAllConnections(); server.close(() => r()); }),
  };
  const server = http.createServer((req, res) => {
    s.requests++;
    s.inFlight++;
    s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
    const answer = () => {
      s.inFlight--;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ queue: { depth: value } }));
    };
    const afterDelay = () => (s.delayMs > 0 ? setTimeout(answer, s.delayMs) : answer());
    if (holding) {
      waiting.push(afterDelay);
      const h = onHeld;
      onHeld = [];
      for (const f of h) f();
    } else {
      afterDelay();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats`;
  return s;
}
