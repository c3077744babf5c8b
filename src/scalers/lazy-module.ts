// The backend client libraries (ioredis, pg, mysql2, amqplib, grpc-js) are loaded at a trigger's first
// connection, not at start-up: esbuild gives each a chunk of its own, and a pass whose triggers use none
// of them never parses them (about 2 MB of the bundle; measured on an empty pass: ~50 ms CPU and ~15 MiB
// RSS per run, which every CronJob run pays).

export interface LazyModule<T> {
  /** the module, imported on the first call */
  load(): Promise<T>;
  /** the module once a load() has finished, for the synchronous checks that only run after a connection (instanceof) */
  readonly loaded: T | undefined;
}

export function lazyModule<T>(importer: () => Promise<T>): LazyModule<T> {
  let pending: Promise<T> | undefined;
  let value: T | undefined;
  return {
    load: () => (pending ??= importer().then(
      (m) => (value = m),
      (err: unknown) => {
        pending = undefined; // a failed import (a broken install) is tried again by the next connection
        throw err;
      },
    )),
    get loaded() { return value; },
  };
}

/**
 * A CommonJS library's exports, from its dynamic import. Node gives them as `default` (named exports
 * only as far as its lexer guesses them); esbuild's chunk of a CommonJS module has nothing but
 * `default`. Either way `default` is module.exports, whatever the library's typings say `default` is.
 */
export function commonJsExports<T>(namespace: T): T {
  return ((namespace as { default?: T }).default ?? namespace) as T;
}
