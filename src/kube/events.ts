// events.k8s.io/v1 Events regarding a ScaledObject, reported as KEDA does (reason, note, action).
import crypto from 'node:crypto';
import type { KubeRest } from './rest.ts';
import type { ScaledObject } from './scaledobjects.ts';
import type { DecisionEvent } from '../scaling/types.ts';

export const REPORTING_CONTROLLER = 'scalepass.dev/scalepass';

export async function createEvent(rest: KubeRest, so: ScaledObject, ev: DecisionEvent, instance: string, now: Date): Promise<void> {
  const name = `${so.metadata.name}.${now.getTime().toString(16)}${crypto.randomBytes(3).toString('hex')}`;
  await rest.create(`/apis/events.k8s.io/v1/namespaces/${so.metadata.namespace}/events`, {
    apiVersion: 'events.k8s.io/v1', kind: 'Event',
    metadata: { name, namespace: so.metadata.namespace },
    eventTime: now.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'),
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: instance,
    action: ev.reason,
    reason: ev.reason,
    type: ev.type,
    note: ev.message.slice(0, 1024),
    regarding: { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', name: so.metadata.name, namespace: so.metadata.namespace, uid: so.metadata.uid, resourceVersion: so.metadata.resourceVersion },
  });
}
