// One coordination.k8s.io Lease per shard: it records when the shard's last pass completed (that is
// what makes pollingInterval hold across runs without a write per object) and keeps an ad-hoc run
// from racing the CronJob's run of the same shard.
import { ApiError, type KubeRest } from './rest.ts';

export interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
}

export const LAST_PASS = 'scalepass.dev/last-pass-time';

const micro = (t: number) => new Date(t).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaseHeld extends Error {}

export interface ShardLease {
  /** end of the shard's last completed pass, ms; undefined on the first pass */
  lastPass?: number;
  /** give the lease back; with passStart, record it as the shard's last completed pass */
  release(passStart?: number): Promise<void>;
}

/** Take the shard's lease for the length of a pass. Throws LeaseHeld when another live run holds it. */
export async function acquire(rest: KubeRest, namespace: string, name: string, holder: string, now: number, durationS: number): Promise<ShardLease> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
  let lease: Lease | undefined;
  try {
    lease = await rest.get<Lease>(`${path}/${name}`);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
  const spec = { holderIdentity: holder, leaseDurationSeconds: durationS, acquireTime: micro(now), renewTime: micro(now) };
  let current: Lease;
  if (!lease) {
    current = await rest.create<Lease>(path, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec });
  } else {
    const held = lease.spec.holderIdentity && lease.spec.holderIdentity !== holder;
    const expires = Date.parse(lease.spec.renewTime ?? '') + (lease.spec.leaseDurationSeconds ?? 0) * 1000;
    if (held && expires > now) {
      throw new LeaseHeld(`shard lease ${namespace}/${name} is held by ${lease.spec.holderIdentity} until ${new Date(expires).toISOString()}`);
    }
    // a 409 here means another run took it between our read and write: the same answer as "held"
    try {
      current = await rest.put<Lease>(`${path}/${name}`, { ...lease, spec: { ...lease.spec, ...spec } });
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) throw new LeaseHeld(`shard lease ${namespace}/${name} was taken by another run`);
      throw e;
    }
  }
  const last = Date.parse(lease?.metadata.annotations?.[LAST_PASS] ?? '');
  return {
    lastPass: Number.isFinite(last) ? last : undefined,
    async release(passStart?: number) {
      const annotations = passStart === undefined ? current.metadata.annotations : { ...current.metadata.annotations, [LAST_PASS]: new Date(passStart).toISOString() };
      await rest.put(`${path}/${name}`, {
        ...current,
        metadata: { ...current.metadata, annotations },
        spec: { ...current.spec, holderIdentity: undefined, leaseDurationSeconds: durationS, renewTime: micro(Date.now()) },
      });
    },
  };
}
