// The connections a pass measures with. Triggers that name the same server with the same credentials and
// TLS settings share one small pool, so N ScaledObjects on one database open a handful of sessions, not N
// (a server's max_connections or a role's CONNECTION LIMIT would refuse the rest). The pass closes them all
// in one place; a pool's idle connections may close earlier.

import { createHash } from 'node:crypto';
import { AbortedError, abortError } from './abort.ts';

/** Sessions per endpoint at most: enough to overlap slow queries, far below any server's limits. */
export const MAX_PER_ENDPOINT = 4;
/** An idle connection nobody asked for since then is closed, so a long run does not sit on sessions. */
export const IDLE_CLOSE_MS = 10_000;

/** How a scaler opens and ends the connections of its kind; the pool decides when. */
export interface Connector<C> {
  /**
   * Opens one connection, or rejects with why (the scaler words the message). The connection calls `lost`
   * when it learns it is broken (an 'error' or 'end' while idle), so the pool never hands it out again.
   */
  open(signal: AbortSignal, lost: () => void): Promise<C>;
  /** Ends a healthy connection politely, within a short grace. */
  close(c: C): Promise<void>;
  /** Ends a connection at once: broken, aborted, or still in use when the pass ended. */
  destroy(c: C): void;
}

/** A failure to get a connection (opening it, or waiting for one), as opposed to a failure of the work done on it. */
export class AcquireError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'AcquireError';
  }
}

interface Slot<C> {
  client?: C;
  state: 'opening' | 'idle' | 'leased' | 'gone';
  /** it has been used and given back before */
  served: boolean;
  lost: boolean;
  idleTimer?: NodeJS.Timeout;
}

interface Waiter<C> {
  signal: AbortSignal;
  resolve(slot: Promise<Slot<C>>): void;
  reject(err: unknown): void;
  onAbort(): void;
}

export interface PoolOptions {
  max?: number;
  idleCloseMs?: number;
}

/** At most `max` connections to one endpoint; callers beyond that wait their turn, each until its own signal aborts. */
export class EndpointPool<C> {
  readonly #connector: Connector<C>;
  readonly #max: number;
  readonly #idleCloseMs: number;
  // every connection that counts toward max: opening, idle or in use
  readonly #slots = new Set<Slot<C>>();
  // most recently used last: reuse takes the warmest, the coldest reach their idle timeout
  readonly #idle: Slot<C>[] = [];
  readonly #waiters: Waiter<C>[] = [];
  // ends the opens still in flight when the pool closes
  readonly #lifetime = new AbortController();
  readonly #closing = new Set<Promise<void>>();
  #closed = false;

  constructor(connector: Connector<C>, o: PoolOptions = {}) {
    this.#connector = connector;
    this.#max = Math.max(1, o.max ?? MAX_PER_ENDPOINT);
    this.#idleCloseMs = o.idleCloseMs ?? IDLE_CLOSE_MS;
  }

  /** Connections open or opening now. */
  get size(): number {
    return this.#slots.size;
  }

  /**
   * Runs `fn` on a connection of its own for the time it runs. An error `broken` says ended the connection,
   * or an abort, evicts it. When a connection that had served before turns out broken (the server may have
   * dropped it while it sat idle, which go's database/sql retries too), `fn` runs once more on another one;
   * an abort is never retried. Failures to get a connection reject with AcquireError.
   */
  async use<T>(signal: AbortSignal, fn: (c: C) => Promise<T>, broken: (err: unknown) => boolean): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let slot: Slot<C>;
      let reused: boolean;
      try {
        ({ slot, reused } = await this.#acquire(signal));
      } catch (err) {
        throw new AcquireError(err);
      }
      try {
        const r = await fn(slot.client!);
        this.#release(slot, false);
        return r;
      } catch (err) {
        const aborted = signal.aborted || err instanceof AbortedError;
        const bad = aborted || broken(err);
        this.#release(slot, bad);
        if (!(bad && !aborted && reused && attempt === 0)) throw err;
      }
    }
  }

  /** Ends every connection: idle ones politely, ones still in use at once; waiters are refused. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#lifetime.abort(new Error('the pass ended'));
      for (const w of this.#waiters.splice(0)) {
        w.signal.removeEventListener('abort', w.onAbort);
        w.reject(new Error('connections were closed: the pass ended'));
      }
      for (const slot of [...this.#slots]) {
        if (slot.state === 'idle') this.#retire(slot, 'close');
        else if (slot.state === 'leased') this.#retire(slot, 'destroy');
        // an opening one is destroyed when its open settles, which the aborted lifetime makes prompt
      }
    }
    await Promise.allSettled([...this.#closing]);
  }

  async #acquire(signal: AbortSignal): Promise<{ slot: Slot<C>; reused: boolean }> {
    if (this.#closed) throw new Error('connections were closed: the pass ended');
    if (signal.aborted) throw abortError(signal);
    const idle = this.#idle.pop();
    if (idle) return { slot: this.#lease(idle), reused: true };
    if (this.#slots.size < this.#max) return { slot: await this.#open(signal), reused: false };
    // the others are taken: wait for one to come back, or for the room to open one
    const slot = await new Promise<Slot<C>>((resolve, reject) => {
      const w: Waiter<C> = {
        signal,
        resolve: (p) => p.then(resolve, reject),
        reject,
        onAbort: () => {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          reject(abortError(signal, `while waiting for one of the ${this.#max} connections to this server`));
        },
      };
      signal.addEventListener('abort', w.onAbort, { once: true });
      this.#waiters.push(w);
    });
    return { slot, reused: slot.served };
  }

  async #open(signal: AbortSignal): Promise<Slot<C>> {
    const slot: Slot<C> = { state: 'opening', served: false, lost: false };
    this.#slots.add(slot);
    let client: C;
    try {
      client = await this.#connector.open(AbortSignal.any([signal, this.#lifetime.signal]), () => this.#lost(slot));
    } catch (err) {
      this.#slots.delete(slot);
      slot.state = 'gone';
      this.#dispatch();
      throw this.#closed ? new Error('connections were closed: the pass ended') : err;
    }
    slot.client = client;
    if (this.#closed || slot.lost) {
      this.#retire(slot, 'destroy');
      this.#dispatch();
      throw new Error(this.#closed ? 'connections were closed: the pass ended' : 'the connection was lost as soon as it opened');
    }
    slot.state = 'leased';
    return slot;
  }

  #lease(slot: Slot<C>): Slot<C> {
    clearTimeout(slot.idleTimer);
    slot.state = 'leased';
    return slot;
  }

  #release(slot: Slot<C>, broken: boolean): void {
    if (slot.state !== 'leased') return;
    slot.served = true;
    if (broken || slot.lost || this.#closed) {
      this.#retire(slot, 'destroy');
    } else {
      slot.state = 'idle';
      this.#idle.push(slot);
      slot.idleTimer = setTimeout(() => this.#retire(slot, 'close'), this.#idleCloseMs);
      // an idle connection never keeps a finished run alive
      slot.idleTimer.unref();
    }
    this.#dispatch();
  }

  #lost(slot: Slot<C>): void {
    slot.lost = true;
    if (slot.state === 'idle') {
      this.#retire(slot, 'destroy');
      this.#dispatch();
    }
    // in use: evicted when released; opening: destroyed when the open settles
  }

  #retire(slot: Slot<C>, how: 'close' | 'destroy'): void {
    if (slot.state === 'gone') return;
    clearTimeout(slot.idleTimer);
    const i = this.#idle.indexOf(slot);
    if (i >= 0) this.#idle.splice(i, 1);
    this.#slots.delete(slot);
    slot.state = 'gone';
    const client = slot.client!;
    if (how === 'destroy') {
      this.#connector.destroy(client);
    } else {
      const p = this.#connector.close(client).catch(() => this.#connector.destroy(client));
      this.#closing.add(p);
      void p.finally(() => this.#closing.delete(p));
    }
  }

  /** Hands idle connections, or the room to open one, to the callers waiting longest. */
  #dispatch(): void {
    while (this.#waiters.length > 0 && !this.#closed) {
      const idle = this.#idle.pop();
      if (!idle && this.#slots.size >= this.#max) return;
      const w = this.#waiters.shift()!;
      w.signal.removeEventListener('abort', w.onAbort);
      w.resolve(idle ? Promise.resolve(this.#lease(idle)) : this.#open(w.signal));
    }
  }
}

/**
 * One pool per endpoint + credentials + TLS settings for a pass. The key is a hash of the resolved
 * connection config: it holds no secret in readable form and is never logged.
 */
export class ClientRegistry {
  readonly #pools = new Map<string, EndpointPool<unknown>>();
  readonly #options: PoolOptions;
  // a scaler passes the same config object at every measurement: hash it once (a TLS config holds the system CAs)
  readonly #hashes = new WeakMap<object, string>();
  #closed = false;

  constructor(o: PoolOptions = {}) {
    this.#options = o;
  }

  /** The pool for `kind` and `config` (everything a connection is opened from); `connector` is used the first time. */
  pool<C>(kind: string, config: unknown, connector: Connector<C>): EndpointPool<C> {
    const key = `${kind}:${this.#hash(config)}`;
    let p = this.#pools.get(key) as EndpointPool<C> | undefined;
    if (!p) {
      p = new EndpointPool(connector, this.#options);
      // a registry already closed hands out closed pools: a straggling measurement fails instead of reopening
      if (this.#closed) void p.close();
      this.#pools.set(key, p as EndpointPool<unknown>);
    }
    return p;
  }

  #hash(config: unknown): string {
    const cached = typeof config === 'object' && config !== null ? this.#hashes.get(config) : undefined;
    if (cached) return cached;
    const h = createHash('sha256').update(canonicalJson(config)).digest('hex');
    if (typeof config === 'object' && config !== null) this.#hashes.set(config, h);
    return h;
  }

  /** Connections open or opening now, over all pools. */
  get size(): number {
    let n = 0;
    for (const p of this.#pools.values()) n += p.size;
    return n;
  }

  async closeAll(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#pools.values()].map((p) => p.close()));
  }
}

/**
 * The registry a scaler measures with: the pass's (from the measure context, else the factory's), or,
 * outside a pass (tests, scripts), one of its own, which the scaler's close() ends.
 */
export function clientsFor(factoryClients: ClientRegistry | undefined): {
  get(measureClients: ClientRegistry | undefined): ClientRegistry;
  close(): Promise<void>;
} {
  let own: ClientRegistry | undefined;
  return {
    get: (m) => m ?? factoryClients ?? (own ??= new ClientRegistry()),
    close: async () => {
      await own?.closeAll();
      own = undefined;
    },
  };
}

/** JSON with object keys sorted, so equal configs hash equal whatever order their fields were set in. */
function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).filter(([, y]) => y !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}
