// events.k8s.io/v1 Events regarding a scaled resource (a ScaledObject or a ScaledJob), reported as
// KEDA does (reason, note, action).
import crypto from 'node:crypto';
import type { KubeRest } from './rest.ts';
import type { ObjectMeta, ScaledKind } from './resources.ts';
import type { DecisionEvent } from '../scaling/types.ts';

export const REPORTING_CONTROLLER = 'scalepass.dev/scalepass';

/** what an event is about: the object as this pass read it */
export interface Regarding {
  kind: ScaledKind;
  metadata: Pick<ObjectMeta, 'name' | 'namespace' | 'uid' | 'resourceVersion'>;
}

export async function createEvent(rest: KubeRest, obj: Regarding, ev: DecisionEvent, instance: string, now: Date): Promise<void> {
  const m = obj.metadata;
  const name = `${m.name}.${now.getTime().toString(16)}${crypto.randomBytes(3).toString('hex')}`;
  await rest.create(`/apis/events.k8s.io/v1/namespaces/${m.namespace}/events`, {
    apiVersion: 'events.k8s.io/v1', kind: 'Event',
    metadata: { name, namespace: m.namespace },
    eventTime: now.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'),
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: instance,
    action: ev.reason,
    reason: ev.reason,
    type: ev.type,
    note: ev.message.slice(0, 1024),
    regarding: { apiVersion: 'keda.sh/v1alpha1', kind: obj.kind, name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion },
  });
}
