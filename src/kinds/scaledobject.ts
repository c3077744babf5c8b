// ScaledObjects: the scale target through /scale, KEDA's activation and the HPA's arithmetic (../scaling/decide.ts),
// the replica write with the resourceVersion read, status and events. Triggers read their env from the
// scale target's containers.
import { TargetResolver, TargetError, ScaleConflict, type ResolvedTarget, type Scale } from '../kube/targets.ts';
import { LimitRangeReader, readPodTemplateResources } from '../kube/pod-template.ts';
import { isResourceTrigger } from '../scaling/status.ts';
import { listScaledObjects, type ScaledObject } from '../kube/scaledobjects.ts';
import { statusChanged, writeStatus } from '../kube/status.ts';
import { createEvent } from '../kube/events.ts';
import { workloadContainers, type EnvSource } from '../auth/resolve.ts';
import { specSchemaError } from '../scaledobject-spec.ts';
import { FORMULA_FAILED_REASON, decide } from '../scaling/decide.ts';
import { eventsAfterFailedScale } from '../scaling/events.ts';
import { readAnnotations } from '../scaling/annotations.ts';
import { hpaHistoryPatch, kedaStatus, readHpaHistory } from '../scaling/hpa-history.ts';
import { objectPath } from '../kube/scaledobjects.ts';
import type { Decision, DecisionEvent, PodTemplateResources, ScaledObjectStatus, TriggerMeasurement } from '../scaling/types.ts';
import { measureTriggers, message } from '../measure.ts';
import { COMPOSITE_METRIC, usesModifiers } from '../scaling/modifiers.ts';
import { LeaseLostError, type EvaluationTime, type Kind, type KindRun, type ObjectReport, type PassContext } from './kind.ts';
import { distinct, failOnTriggerErrors, recordValues, refOf } from './shared.ts';

/** A /scale write that met a newer target this many times in a row gives up for this pass. */
const SCALE_ATTEMPTS = 3;

export const scaledObjects: Kind<ScaledObject> = {
  kind: 'ScaledObject',
  resourceType: 'scaled_object',
  logKey: 'scaledObject',
  list: listScaledObjects,
  pollingInterval: (so) => so.spec?.pollingInterval ?? 30,
  triggers: (so) => (Array.isArray(so.spec?.triggers) ? so.spec.triggers : []),
  start: (ctx) => new ScaledObjectRun(ctx),
};

class ScaledObjectRun implements KindRun<ScaledObject> {
  private readonly ctx: PassContext;
  private readonly targets: TargetResolver;
  private readonly limitRanges: LimitRangeReader;
  constructor(ctx: PassContext) {
    this.ctx = ctx;
    this.targets = new TargetResolver(ctx.rest);
    this.limitRanges = new LimitRangeReader(ctx.rest, ctx.deadline);
  }

  /** Deployments and StatefulSets targeted by several due objects in a namespace: one LIST each */
  async prepare(due: readonly ScaledObject[]): Promise<void> {
    const perKind = new Map<string, number>();
    for (const so of due) {
      const ref = so.spec?.scaleTargetRef;
      const kind = ref?.kind?.trim() || 'Deployment';
      if ((ref?.apiVersion?.trim() || 'apps/v1') !== 'apps/v1' || (kind !== 'Deployment' && kind !== 'StatefulSet')) continue;
      const key = `${so.metadata.namespace}/${kind === 'Deployment' ? 'deployments' : 'statefulsets'}`;
      perKind.set(key, (perKind.get(key) ?? 0) + 1);
    }
    await Promise.all([...perKind].filter(([, n]) => n >= 2).map(([key]) => {
      const [ns, resource] = key.split('/') as [string, 'deployments' | 'statefulsets'];
      return this.targets.prefetch(ns, resource, this.ctx.deadline);
    }));
  }

  async evaluate(so: ScaledObject, report: ObjectReport, at: EvaluationTime): Promise<void> {
    const { ctx, targets } = this;
    const { rest, rec, log, deadline } = ctx;
    const ns = so.metadata.namespace;
    const name = so.metadata.name;
    const ref = refOf(so);
    const annotations = so.metadata.annotations ?? {};

    // Failures before a decision can be made: the object gets Ready=False and an event; nothing is scaled.
    const checkFailed = async (detail: string): Promise<void> => {
      report.outcome = 'failed';
      report.detail = detail;
      rec.recordObjectError(ref);
      const status = withCondition(so.status ?? {}, 'Ready', 'False', 'ScaledObjectCheckFailed', detail);
      const ev: DecisionEvent = { type: 'Warning', reason: 'ScaledObjectCheckFailed', message: detail };
      const wasFailing = so.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False' && c.message === detail);
      if (!ctx.dryRun) {
        if (statusChanged(so.status, status)) report.statusWritten = await ctx.write(() => writeStatus(rest, so, status));
        if (!wasFailing) {
          await ctx.write(() => createEvent(rest, so, ev, ctx.instance, new Date(ctx.now())));
          report.events.push(ev);
        }
      }
      log.warn('scaledobject check failed', { namespace: ns, scaledObject: name, error: detail });
    };

    const specError = specSchemaError(so.spec);
    if (specError) return checkFailed(`ScaledObject ${ns}/${name}: ${specError}`);

    let target: ResolvedTarget;
    let scale: Scale;
    try {
      target = await targets.resolve(ns, so.spec.scaleTargetRef);
      report.target = `${target.kindString} ${so.spec.scaleTargetRef.name}`;
      scale = await targets.readScale(target, deadline);
    } catch (e) {
      if (e instanceof TargetError) return checkFailed(e.message);
      throw e;
    }

    // a fully paused object is not measured at all, as KEDA stops its loop
    const paused = readAnnotations(annotations).fullPause !== undefined;
    const env: EnvSource = {
      namespace: ns, containers: () => workloadContainers(ctx.measuring.auth, target.objectPath),
      containerName: so.spec.scaleTargetRef.envSourceContainerName, containerField: 'scaleTargetRef.envSourceContainerName', where: 'the scale target',
    };
    const measurements: TriggerMeasurement[] = paused ? [] : await measureTriggers(ctx.measuring, { ref, triggers: so.spec.triggers, env, selector: scale.selector, asMetricSource: usesModifiers(so.spec) }, report.triggers);
    // only Value targets (and their fallback values) divide by ready pods: one pod LIST, only for them
    // (the same LIST cpu/memory triggers read)
    const needsReady = measurements.some((m) => m.metricType === 'Value') || so.spec.advanced?.scalingModifiers?.metricType === 'Value';
    const readyReplicas = needsReady && !paused ? await ctx.measuring.pods.readyCount(ns, scale.selector) : 0;
    // cpu/memory: KEDA's missing-requests check reads the pod template (and LimitRanges if needed)
    const resources = new Set(so.spec.triggers.filter((t) => isResourceTrigger(t.type)).map((t) => t.type as 'cpu' | 'memory'));
    const podTemplate: PodTemplateResources | undefined = resources.size > 0 && !paused
      ? await readPodTemplateResources((p) => ctx.measuring.auth.get(p), this.limitRanges, target, ns, resources) : undefined;

    // the HPA history comes from its annotation (../scaling/hpa-history.ts), the rest from the status
    const history = readHpaHistory(annotations, so.status);
    const decideOn = (s: Scale): Decision => decide({
      name, namespace: ns, spec: so.spec, annotations, creationTimestamp: so.metadata.creationTimestamp,
      status: { ...kedaStatus(so.status ?? {}), ...history }, measurements,
      target: { specReplicas: s.specReplicas, statusReplicas: s.statusReplicas, readyReplicas, kind: target.kindString, namespace: ns, name: so.spec.scaleTargetRef.name, podTemplate },
      now: at.now, previousEvaluation: at.previous, hpaCatchUp: at.hpaCatchUp,
    });
    // the /scale write carries the resourceVersion read: when the target changed since (a person,
    // another controller), it is read again and the decision made again on what it is now
    let decision = decideOn(scale);
    let scaleError: string | undefined;
    for (let attempt = 1; !ctx.dryRun && decision.replicas !== scale.specReplicas; attempt++) {
      try {
        await ctx.write(() => targets.setReplicas(target, scale, decision.replicas));
        report.scaled = true;
        break;
      } catch (e) {
        if (e instanceof LeaseLostError) throw e;
        if (!(e instanceof ScaleConflict) || attempt >= SCALE_ATTEMPTS) {
          scaleError = message(e);
          break;
        }
        log.info('scale target changed since it was read; deciding again', { namespace: ns, scaledObject: name, error: e.message });
        scale = await targets.readScale(target, deadline, true);
        decision = decideOn(scale);
      }
    }
    report.current = scale.specReplicas;
    report.desired = decision.replicas;
    // what an HPA's status would show, with no HPA to carry it: the target's replicas as this pass
    // leaves them (written, else as read: a dry run, a failed write) and the decision
    rec.recordReplicas(ref, report.scaled ? decision.replicas : scale.specReplicas, decision.replicas);
    report.active = decision.active;
    report.paused = decision.paused;
    report.reason = decision.reason;
    rec.recordPaused(ref, decision.paused);
    recordValues(ctx, report, measurements, decision.metricValues);
    if (decision.composite) {
      // KEDA records the composite metric as its own scaler, index 0
      const composite = { index: 0, type: COMPOSITE_METRIC, name: COMPOSITE_METRIC, metricName: COMPOSITE_METRIC };
      if (decision.composite.value !== undefined) rec.recordScalerValue(ref, composite, decision.composite.value);
      rec.recordScalerTarget(ref, composite, decision.composite.target);
      rec.recordScalerActive(ref, composite, decision.composite.active);
    }

    const status: ScaledObjectStatus = {
      ...kedaStatus(decision.status),
      scaleTargetKind: target.kindString,
      scaleTargetGVKR: { group: target.group, version: target.version, kind: target.kind, resource: target.resource },
      originalReplicaCount: so.status?.originalReplicaCount ?? scale.specReplicas,
      authenticationsTypes: distinct(so.spec.triggers.map((t) => t.authenticationRef?.name ?? '')),
    };
    let events = decision.events;
    if (scaleError !== undefined) {
      const tstate = { specReplicas: scale.specReplicas, statusReplicas: scale.statusReplicas, readyReplicas, kind: target.kindString, namespace: ns, name: so.spec.scaleTargetRef.name };
      // the decision's scale events did not happen: they become the failures KEDA and the HPA report
      events = eventsAfterFailedScale(events, tstate, scale.specReplicas, decision.replicas, scaleError);
      report.outcome = 'failed';
      report.detail = `Failed to scale ${target.kindString} ${ns}/${so.spec.scaleTargetRef.name} from ${scale.specReplicas} to ${decision.replicas}: ${scaleError}`;
      rec.recordObjectError(ref);
      // the scale did not happen: keep the history the next pass reasons from as it was; KEDA stamps
      // lastActiveTime only after an activation that worked (a time carried as activity ended stays)
      if (decision.events.some((e) => e.reason === 'KEDAScaleTargetActivated')) status.lastActiveTime = so.status?.lastActiveTime;
    }
    const historyPatch = hpaHistoryPatch(annotations, scaleError !== undefined ? history
      : { recommendations: decision.status.recommendations, scaleEvents: decision.status.scaleEvents });
    if (!ctx.dryRun) {
      if (statusChanged(so.status, status)) report.statusWritten = await ctx.write(() => writeStatus(rest, so, status));
      // after the status: the status PUT carries the resourceVersion read, which this patch would move on
      if (historyPatch) {
        await ctx.write(() => rest.mergePatch(objectPath(so), historyPatch, { signal: deadline }));
        report.historyWritten = true;
      }
      for (const ev of events) await ctx.write(() => createEvent(rest, so, ev, ctx.instance, new Date(ctx.now())));
    }
    report.events = events;
    failOnTriggerErrors(report);
    const ready = decision.status.conditions?.find((c) => c.type === 'Ready');
    if (ready?.reason === FORMULA_FAILED_REASON && report.outcome === 'evaluated') {
      report.outcome = 'failed';
      report.detail = ready.message ?? 'scalingModifiers formula failed';
      rec.recordObjectError(ref);
    }
    if (log.enabled('info')) log.info('decision', {
      namespace: ns, scaledObject: name, target: report.target, current: report.current, desired: report.desired,
      active: report.active, paused: report.paused, reason: report.reason, scaled: report.scaled, statusWritten: report.statusWritten, historyWritten: report.historyWritten,
      triggers: report.triggers.map((t) => ({ metric: t.metricName, value: t.value, target: t.target, active: t.active, error: t.error })),
      dryRun: ctx.dryRun || undefined,
    });
  }
}

function withCondition(status: ScaledObjectStatus, type: string, st: 'True' | 'False' | 'Unknown', reason: string, msg: string): ScaledObjectStatus {
  const conditions = (status.conditions ?? []).filter((c) => c.type !== type);
  const ready = { type, status: st, reason, message: msg };
  const active = st === 'False' && type === 'Ready' ? [{ type: 'Active', status: 'Unknown' as const, reason: 'UnknownState', message: 'ScaledObject check failed' }] : [];
  return { ...status, conditions: [ready, ...active, ...conditions.filter((c) => !(active.length && c.type === 'Active'))] };
}
