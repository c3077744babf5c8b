// Shared by the scalers that hold a client connection: a measurement must end when the pass's signal
// aborts, even if the client library itself ignores signals, and error text keeps the driver's code.

/** Settles with `work`, or rejects at once when `signal` aborts (after `cancel` released the resources). */
export function abortable<T>(work: Promise<T>, signal: AbortSignal, cancel: () => void = () => {}): Promise<T> {
  const aborted = (): Error => abortError(signal);
  if (signal.aborted) {
    work.catch(() => {});
    cancel();
    return Promise.reject(aborted());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      cancel();
      reject(aborted());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Work given up because its signal aborted (a timeout, the pass's deadline), not a failure of the backend. */
export class AbortedError extends Error {
  override name = 'AbortedError';
}

/** `aborted (<the signal's reason>)`, with what was being waited for when given. */
export function abortError(signal: AbortSignal, during?: string): Error {
  const r: unknown = signal.reason;
  return new AbortedError(`aborted (${r instanceof Error ? r.message : r === undefined ? 'signal' : String(r)})${during ? ` ${during}` : ''}`);
}

/** An error's message, prefixed with its driver code (ECONNREFUSED, ER_ACCESS_DENIED_ERROR...) when the message lacks it. */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}

/** A signal bounded by a time and by other signals; `done()` releases it once the work has settled. */
export interface Bounded {
  signal: AbortSignal;
  /** the time ran out (rather than a parent aborting) */
  timedOut(): boolean;
  /** clears the timer and unhooks the parents; the signal stays as it is */
  done(): void;
}

/**
 * Aborts after `ms` (with a TimeoutError, as AbortSignal.timeout) or as soon as a parent aborts (with
 * its reason). One is made per request, thousands per pass: AbortSignal.timeout's timer cannot be
 * cleared, so it fires long after the request ended, and AbortSignal.any keeps weak references the
 * garbage collector has to trace; this clears its timer and listeners as soon as `done()` is called.
 */
export function bounded(ms: number, ...parents: AbortSignal[]): Bounded {
  const ac = new AbortController();
  let timedOut = false;
  const abortedParent = parents.find((p) => p.aborted);
  if (abortedParent) {
    ac.abort(abortedParent.reason);
    return { signal: ac.signal, timedOut: () => false, done: () => {} };
  }
  const onParent = function (this: AbortSignal): void {
    release();
    ac.abort(this.reason);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    release();
    ac.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, ms);
  // like AbortSignal.timeout, a pending bound alone does not keep the process alive
  timer.unref();
  for (const p of parents) p.addEventListener('abort', onParent, { once: true });
  function release(): void {
    clearTimeout(timer);
    for (const p of parents) p.removeEventListener('abort', onParent);
  }
  return { signal: ac.signal, timedOut: () => timedOut, done: release };
}
