// One undici Agent per TLS configuration for the whole pass, shared by every HTTP trigger: an Agent keeps
// a pool of keep-alive connections per origin, so 1,000 metrics-api triggers on one endpoint reuse a few
// connections instead of opening one each (a new TCP + TLS handshake per measurement was the largest
// single cost of a quiet pass). Each HttpClient holds a reference; the last one closed (at the end of
// the pass) destroys the Agent and its sockets.
import { createHash } from 'node:crypto';
import { Agent, interceptors, type Dispatcher } from 'undici';
import { MAX_PER_ENDPOINT } from './clients.ts';

interface Shared { agent: Agent; dispatcher: Dispatcher; refs: number }
const agents = new Map<string, Shared>();

export interface AgentLease {
  agent: Agent;
  /** the Agent behind the redirect handling of Go's client: up to 10, Authorization dropped when the origin changes */
  dispatcher: Dispatcher;
  release(): Promise<void>;
}

/**
 * The shared Agent for these TLS settings (verification, client certificate, extra CA, as the trigger gave
 * them); `connect` builds its connect options, and is called only when no Agent has them yet.
 */
export function leaseAgent(settings: Record<string, unknown>, connect: () => Record<string, unknown>): AgentLease {
  // settings with PEM (a private key) are keyed by their hash, which must not sit in a readable map key;
  // those without (the usual trigger: just unsafeSsl) by their text, without a hash per trigger
  const text = JSON.stringify(settings);
  const key = Object.values(settings).some((v) => typeof v === 'string') ? createHash('sha256').update(text).digest('hex') : text;
  let shared = agents.get(key);
  if (!shared) {
    // at most as many connections per origin as the database pools open per endpoint
    const agent = new Agent({ connect: connect(), connections: MAX_PER_ENDPOINT });
    shared = { agent, dispatcher: agent.compose(interceptors.redirect({ maxRedirections: 10 })), refs: 0 };
    agents.set(key, shared);
  }
  const s = shared;
  s.refs++;
  let released = false;
  return {
    agent: s.agent,
    dispatcher: s.dispatcher,
    release: async () => {
      if (released) return;
      released = true;
      if (--s.refs > 0) return;
      if (agents.get(key) === s) agents.delete(key);
      // destroy, not close: a request the pass gave up on must not hold the run open
      await s.agent.destroy();
    },
  };
}
