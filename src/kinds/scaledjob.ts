// ScaledJobs: the Jobs a ScaledJob owns counted (running, pending), KEDA's decision (../scaling/scaledjob.ts),
// then its writes in KEDA's order — a rollout's deletions, the Jobs to create, finished Jobs beyond the
// history limits — then status and events. Triggers read their env from jobTargetRef.template's containers.
import { createEvent } from '../kube/events.ts';
import { createJob, deleteJob, JobIndex } from '../kube/jobs.ts';
import { listScaledJobs, type ScaledJob } from '../kube/scaledjobs.ts';
import { statusChanged, writeStatus } from '../kube/status.ts';
import type { Container, EnvSource } from '../auth/resolve.ts';
import { scaledJobSpecError } from '../scaledjob-spec.ts';
import { decideInvalidScaledJob, decideScaledJob, scaledJobPaused, type JobDeletion, type ScaledJobDecision } from '../scaling/scaledjob.ts';
import { eventsAfterJobWrites } from '../scaling/scaledjob/events.ts';
import type { DecisionEvent, TriggerMeasurement } from '../scaling/types.ts';
import { measureTriggers, message } from '../measure.ts';
import { LeaseLostError, type EvaluationTime, type Kind, type KindRun, type ObjectReport, type PassContext } from './kind.ts';
import { failOnTriggerErrors, recordValues, refOf } from './shared.ts';
import pkg from '../../package.json' with { type: 'json' };

export const scaledJobs: Kind<ScaledJob> = {
  kind: 'ScaledJob',
  resourceType: 'scaled_job',
  logKey: 'scaledJob',
  list: listScaledJobs,
  pollingInterval: (sj) => sj.spec?.pollingInterval ?? 30,
  triggers: (sj) => (Array.isArray(sj.spec?.triggers) ? sj.spec.triggers : []),
  start: (ctx) => new ScaledJobRun(ctx),
};

/** What the writes of one pass did; failures are messages, each also an event where KEDA has one. */
interface Applied {
  created: string[];
  createErrors: string[];
  deleted: string[];
  rolloutError?: { job: string; error: string };
  historyErrors: string[];
}

class ScaledJobRun implements KindRun<ScaledJob> {
  private readonly ctx: PassContext;
  private readonly jobs: JobIndex;
  constructor(ctx: PassContext) {
    this.ctx = ctx;
    this.jobs = new JobIndex(ctx.rest, ctx.deadline);
  }

  // the Jobs and pods of a namespace are listed when its first due ScaledJob asks for them, once
  async prepare(): Promise<void> {}

  async evaluate(sj: ScaledJob, report: ObjectReport, at: EvaluationTime): Promise<void> {
    const { ctx } = this;
    const ns = sj.metadata.namespace;
    const name = sj.metadata.name;

    const specError = scaledJobSpecError(sj.spec);
    if (specError) {
      const detail = `ScaledJob ${ns}/${name}: ${specError}`;
      const decision = decideInvalidScaledJob(sj.status, detail, at.now, at.previous);
      report.outcome = 'failed';
      report.detail = detail;
      report.reason = decision.reason;
      ctx.rec.recordObjectError(refOf(sj));
      await this.finish(sj, report, decision, decision.events);
      ctx.log.warn('scaledjob check failed', { namespace: ns, scaledJob: name, error: detail });
      return;
    }

    // paused: KEDA stops the ScaledJob's loop, so nothing is measured and its Jobs are not even counted
    const paused = scaledJobPaused(sj.metadata.annotations ?? {});
    const measurements: TriggerMeasurement[] = paused ? [] : await measureTriggers(ctx.measuring, { ref: refOf(sj), triggers: sj.spec.triggers, env: envOf(sj) }, report.triggers);
    const jobs = paused ? [] : await this.jobs.summaries(ns, name);
    const decision = decideScaledJob({
      name, namespace: ns, uid: sj.metadata.uid, generation: sj.metadata.generation ?? 1,
      labels: sj.metadata.labels ?? {}, annotations: sj.metadata.annotations ?? {},
      spec: sj.spec, status: sj.status ?? {}, measurements, jobs, now: at.now, previousEvaluation: at.previous, version: pkg.version,
    });
    report.active = decision.active;
    report.paused = decision.paused;
    report.reason = decision.reason;
    report.jobs = {
      running: decision.running, pending: decision.pending, toCreate: decision.jobsToCreate, created: [],
      toDelete: decision.deletions.map((d) => ({ name: d.name, why: d.why })), deleted: [],
    };
    recordValues(ctx, report, measurements, decision.metricValues);

    let events = decision.events;
    if (!ctx.dryRun) {
      const done = await this.apply(sj, decision);
      report.jobs.created = done.created;
      report.jobs.deleted = done.deleted;
      report.scaled = done.created.length > 0 || done.deleted.length > 0;
      events = eventsAfterJobWrites(decision.events, {
        jobsToCreate: decision.jobsToCreate, generateName: decision.job?.metadata.generateName ?? `${name}-`,
        createErrors: done.createErrors, rolloutError: done.rolloutError, createsSkipped: done.rolloutError !== undefined,
      });
      const failures = [
        ...done.createErrors.map((e) => `creating a Job: ${e}`),
        ...(done.rolloutError ? [`rollout: deleting Job ${done.rolloutError.job}: ${done.rolloutError.error}; no Jobs created in this pass`] : []),
        ...done.historyErrors,
      ];
      if (failures.length) {
        report.outcome = 'failed';
        report.detail = failures.join('; ');
        ctx.rec.recordObjectError(refOf(sj));
      }
    }
    await this.finish(sj, report, decision, events);
    failOnTriggerErrors(report);
    if (ctx.log.enabled('info')) ctx.log.info('decision', {
      namespace: ns, scaledJob: name, active: report.active, paused: report.paused, reason: report.reason,
      jobs: report.jobs, statusWritten: report.statusWritten,
      triggers: report.triggers.map((t) => ({ metric: t.metricName, value: t.value, target: t.target, active: t.active, error: t.error })),
      dryRun: ctx.dryRun || undefined,
    });
  }

  /**
   * KEDA's order: the Jobs of other generations go first (a failed delete stops the rollout, and then
   * nothing is created: the decision counted those Jobs as gone), then the new Jobs, then the history.
   */
  private async apply(sj: ScaledJob, decision: ScaledJobDecision): Promise<Applied> {
    const { ctx } = this;
    const ns = sj.metadata.namespace;
    const out: Applied = { created: [], createErrors: [], deleted: [], historyErrors: [] };
    const del = async (d: JobDeletion): Promise<void> => {
      if (await ctx.write(() => deleteJob(ctx.rest, ns, d.name, d.propagationPolicy, ctx.deadline))) out.deleted.push(d.name);
    };
    for (const d of decision.deletions.filter((x) => x.why === 'rollout')) {
      try {
        await del(d);
      } catch (e) {
        if (e instanceof LeaseLostError) throw e;
        out.rolloutError = { job: d.name, error: message(e) };
        break;
      }
    }
    if (!out.rolloutError && decision.job) {
      for (let i = 0; i < decision.jobsToCreate; i++) {
        try {
          out.created.push(await ctx.write(() => createJob(ctx.rest, decision.job!, ctx.deadline)));
        } catch (e) {
          if (e instanceof LeaseLostError) throw e;
          out.createErrors.push(message(e));
        }
      }
    }
    for (const d of decision.deletions.filter((x) => x.why !== 'rollout')) {
      try {
        await del(d);
      } catch (e) {
        if (e instanceof LeaseLostError) throw e;
        out.historyErrors.push(`deleting finished Job ${d.name} beyond the history limit: ${message(e)}`);
      }
    }
    return out;
  }

  /** Status when it changed, then the events; an event that cannot be written is logged, as KEDA's recorder drops it. */
  private async finish(sj: ScaledJob, report: ObjectReport, decision: ScaledJobDecision, events: DecisionEvent[]): Promise<void> {
    const { ctx } = this;
    report.events = events;
    if (ctx.dryRun) return;
    if (statusChanged(sj.status, decision.status)) report.statusWritten = await ctx.write(() => writeStatus(ctx.rest, sj, decision.status));
    for (const ev of events) {
      try {
        await ctx.write(() => createEvent(ctx.rest, sj, ev, ctx.instance, new Date(ctx.now())));
      } catch (e) {
        if (e instanceof LeaseLostError) throw e;
        ctx.log.warn('could not write an event', { namespace: sj.metadata.namespace, scaledJob: sj.metadata.name, reason: ev.reason, error: message(e) });
      }
    }
  }
}

/** KEDA resolves a ScaledJob's env from the containers of the Job's pod template, by envSourceContainerName. */
function envOf(sj: ScaledJob): EnvSource {
  const containers = (sj.spec.jobTargetRef.template.spec?.containers ?? []) as Container[];
  return {
    namespace: sj.metadata.namespace,
    containers: () => Promise.resolve(containers),
    containerName: sj.spec.envSourceContainerName,
    containerField: 'envSourceContainerName',
    where: 'jobTargetRef.template',
  };
}
