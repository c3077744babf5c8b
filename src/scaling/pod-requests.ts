// The requests the HPA divides usage by (replica_calculator.go calculateRequests and component-helpers
// PodRequests), per pod, in milli-units.

import type { ResourceName, ResourcePod } from './resource-metrics.ts';

function add(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  return a === undefined ? b : b === undefined ? a : a + b;
}

function max(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  return a === undefined ? b : b === undefined ? a : a > b ? a : b;
}

/**
 * component-helpers PodRequests for one resource: containers and sidecars summed, at least what any
 * init container needs while it runs (with the sidecars started before it), pod-level requests
 * replacing that sum, plus the pod overhead.
 */
function podLevelRequest(pod: ResourcePod, resource: ResourceName): bigint | undefined {
  let result: bigint | undefined;
  for (const c of pod.containers) result = add(result, c.requests[resource]);
  let sidecars: bigint | undefined;
  let initMax: bigint | undefined;
  for (const c of pod.initContainers) {
    const own = c.requests[resource];
    let running: bigint | undefined;
    if (c.restartable) {
      result = add(result, own);
      sidecars = add(sidecars, own);
      running = sidecars;
    } else {
      running = add(own, sidecars);
    }
    initMax = max(initMax, running);
  }
  result = max(result, initMax);
  const podLevel = pod.podRequests?.[resource];
  if (podLevel !== undefined) result = podLevel;
  return add(result, pod.overhead?.[resource]);
}

/** calculateRequests: every pod of the list, ignored ones too, must declare the request. */
export function podRequests(pods: readonly ResourcePod[], container: string | undefined, resource: ResourceName): Map<string, bigint> | { error: string } {
  const out = new Map<string, bigint>();
  for (const pod of pods) {
    if (pod.podRequests !== undefined && !container) {
      const r = podLevelRequest(pod, resource);
      if (r === undefined) return { error: `missing pod-level request for ${resource} in Pod ${pod.name}` };
      out.set(pod.name, r);
      continue;
    }
    const containers = [...pod.containers, ...pod.initContainers.filter((c) => c.restartable)];
    let request = 0n;
    let found = false;
    for (const c of containers) {
      if (!container || container === c.name) {
        const r = c.requests[resource];
        if (r === undefined) return { error: `missing request for ${resource} in container ${c.name} of Pod ${pod.name}` };
        request += r;
      }
      if (container === c.name) {
        found = true;
        break;
      }
    }
    if (container && !found) return { error: `container ${container} not found in Pod ${pod.name}` };
    out.set(pod.name, request);
  }
  return out;
}
