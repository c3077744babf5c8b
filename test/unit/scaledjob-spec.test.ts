// The ScaledJob spec check against schemas/scaledjob.schema.json, the schema the CRD is generated from.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as yaml from 'js-yaml';
import { scaledJobSpecError } from '../../src/scaledjob-spec.ts';
import { specSchemaError } from '../../src/scaledobject-spec.ts';
import * as defaults from '../../src/scaling/scaledjob/defaults.ts';
import sjSchema from '../../schemas/scaledjob.schema.json' with { type: 'json' };
import soSchema from '../../schemas/scaledobject.schema.json' with { type: 'json' };

// every field KEDA documents for a ScaledJob, written as its docs and e2e tests write them
const KEDA_MANIFEST = `
apiVersion: keda.sh/v1alpha1
kind: ScaledJob
metadata:
  name: rabbitmq-consumer
  labels:
    my-label: value
spec:
  jobTargetRef:
    parallelism: 1
    completions: 1
    activeDeadlineSeconds: 600
    backoffLimit: 6
    ttlSecondsAfterFinished: 300
    podFailurePolicy:
      rules:
        - action: FailJob
          onExitCodes:
            containerName: consumer
            operator: In
            values: [42]
    template:
      metadata:
        labels:
          app: consumer
      spec:
        containers:
          - name: consumer
            image: ghcr.io/kedacore/rabbitmq-client:v1.0
            command: [receive, "amqp://user:pass@rabbitmq.default.svc.cluster.local:5672", job]
            envFrom:
              - secretRef:
                  name: rabbitmq-consumer
            resources:
              limits: { cpu: 100m, memory: 64Mi }
        restartPolicy: Never
  pollingInterval: 10
  successfulJobsHistoryLimit: 5
  failedJobsHistoryLimit: 5
  envSourceContainerName: consumer
  minReplicaCount: 0
  maxReplicaCount: 30
  rolloutStrategy: gradual
  rollout:
    strategy: gradual
    propagationPolicy: foreground
  scalingStrategy:
    strategy: "custom"
    customScalingQueueLengthDeduction: 1
    customScalingRunningJobPercentage: "0.5"
    pendingPodConditions:
      - "Ready"
      - "PodScheduled"
      - "AnyOtherCustomPodCondition"
    multipleScalersCalculation : "max"
  triggers:
    - type: rabbitmq
      name: queue
      metadata:
        queueName: hello
        mode: QueueLength
        value: "1"
      authenticationRef:
        name: rabbitmq-consumer-trigger
`;

const manifest = () => yaml.load(KEDA_MANIFEST) as { spec: Record<string, unknown> };
const withSpec = (patch: (s: Record<string, any>) => void) => {
  const m = manifest();
  patch(m.spec);
  return m.spec;
};

describe('ScaledJob spec check', () => {
  it("accepts a KEDA ScaledJob manifest with every documented field, unchanged", () => {
    assert.equal(scaledJobSpecError(manifest().spec), undefined);
  });
  it('accepts the smallest ScaledJob: a pod template and one trigger', () => {
    assert.equal(scaledJobSpecError({ jobTargetRef: { template: { spec: { containers: [] } } }, triggers: [{ type: 'cron', metadata: {} }] }), undefined);
  });
  const rows: Array<[string, (s: Record<string, any>) => void, string]> = [
    ['names a missing jobTargetRef', (s) => delete s.jobTargetRef, 'spec.jobTargetRef is required'],
    ['names a missing pod template', (s) => delete s.jobTargetRef.template, 'spec.jobTargetRef.template is required'],
    ['names an unknown strategy', (s) => (s.scalingStrategy.strategy = 'fast'), 'spec.scalingStrategy.strategy must be one of default, custom, accurate, eager'],
    ['names an unknown multipleScalersCalculation', (s) => (s.scalingStrategy.multipleScalersCalculation = 'median'), 'spec.scalingStrategy.multipleScalersCalculation must be one of min, avg, sum, max'],
    ['names an unknown propagationPolicy', (s) => (s.rollout.propagationPolicy = 'orphan'), 'spec.rollout.propagationPolicy must be one of foreground, background'],
    ['names an unknown legacy rolloutStrategy', (s) => (s.rolloutStrategy = 'rolling'), 'spec.rolloutStrategy must be one of gradual, immediate'],
    ['names a pollingInterval of 0', (s) => (s.pollingInterval = 0), 'spec.pollingInterval must be >= 1'],
    ['names a negative history limit', (s) => (s.failedJobsHistoryLimit = -1), 'spec.failedJobsHistoryLimit must be >= 0'],
    ['names a maxReplicaCount of 0', (s) => (s.maxReplicaCount = 0), 'spec.maxReplicaCount must be >= 1'],
    ['names a percentage given as a number', (s) => (s.scalingStrategy.customScalingRunningJobPercentage = 0.5), 'spec.scalingStrategy.customScalingRunningJobPercentage must be string'],
    ['names an empty trigger list', (s) => (s.triggers = []), 'spec.triggers must NOT have fewer than 1 items'],
    ['names a trigger without metadata', (s) => delete s.triggers[0].metadata, 'spec.triggers[0].metadata is required'],
    ['names a backoffLimit beyond int32', (s) => (s.jobTargetRef.backoffLimit = 2 ** 31), 'spec.jobTargetRef.backoffLimit must match format "int32"'],
  ];
  for (const [name, patch, want] of rows) it(name, () => assert.equal(scaledJobSpecError(withSpec(patch)), want));

  it('the ScaledObject check still names its fields the same way', () => {
    assert.equal(specSchemaError({ triggers: [] }), 'spec.scaleTargetRef is required');
    assert.equal(specSchemaError({ scaleTargetRef: { name: 'a' }, triggers: [{ type: 'cron', metadata: {} }], pollingInterval: 0 }), 'spec.pollingInterval must be >= 1');
  });
});

describe('the ScaledJob schema agrees with the code and with the ScaledObject schema', () => {
  const props = sjSchema.properties.spec.properties;
  it("its defaults are the ones the decision applies (KEDA's)", () => {
    assert.deepEqual(
      [props.pollingInterval.default, props.successfulJobsHistoryLimit.default, props.failedJobsHistoryLimit.default, props.minReplicaCount.default],
      [defaults.DEFAULT_POLLING_INTERVAL_S, defaults.DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT, defaults.DEFAULT_FAILED_JOBS_HISTORY_LIMIT, defaults.DEFAULT_MIN_REPLICA_COUNT],
    );
  });
  it('leaves maxReplicaCount without a schema default: KEDA treats an unset maximum differently from 100', () => {
    assert.equal('default' in props.maxReplicaCount, false);
  });
  it("its triggers are the ScaledObject's, without metricType (KEDA removes it from the ScaledJob CRD)", () => {
    const so = structuredClone(soSchema.properties.spec.properties.triggers) as { items: { properties: Record<string, unknown> } };
    delete so.items.properties.metricType;
    assert.deepEqual(props.triggers, so);
  });
});
