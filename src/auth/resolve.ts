// What a scaler receives besides its metadata: `authParams` from a TriggerAuthentication or
// ClusterTriggerAuthentication (secretTargetRef, configMapTargetRef, env), and `resolvedEnv`, the
// container env of the workload (for `...FromEnv` keys), resolved as KEDA resolves them. Where the
// containers come from is the kind's business (EnvSource): a ScaledObject's scale target, a
// ScaledJob's jobTargetRef.template.
// Secrets and ConfigMaps are read by name (GET, never LIST), only for objects that reference them,
// once per pass. Values never leave this module except inside the returned maps: error messages
// name the object and key, never the value.
import { ApiError, type KubeRest } from '../kube/rest.ts';
import type { TriggerSpec } from '../scaling/types.ts';

export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}

interface KeyRef { parameter: string; name: string; key: string }
interface TriggerAuthentication {
  spec?: {
    secretTargetRef?: KeyRef[];
    configMapTargetRef?: KeyRef[];
    env?: { parameter: string; name: string; containerName?: string }[];
    [other: string]: unknown;
  };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string; optional?: boolean } };
}
export interface Container {
  name: string;
  env?: EnvVar[];
  envFrom?: { prefix?: string; configMapRef?: { name: string; optional?: boolean }; secretRef?: { name: string; optional?: boolean } }[];
}

const UNSUPPORTED = ['podIdentity', 'hashiCorpVault', 'azureKeyVault', 'gcpSecretManager', 'awsSecretManager', 'boundServiceAccountToken', 'filePath'];

/** Per-pass cache: each TriggerAuthentication, Secret, ConfigMap and workload is read at most once. */
export class AuthCache {
  private readonly rest: KubeRest;
  private readonly cache = new Map<string, Promise<unknown>>();
  readonly clusterObjectNamespace: string;
  constructor(rest: KubeRest, clusterObjectNamespace = process.env.KEDA_CLUSTER_OBJECT_NAMESPACE || process.env.POD_NAMESPACE || 'scalepass-system') {
    this.rest = rest;
    this.clusterObjectNamespace = clusterObjectNamespace;
  }

  /** GET once per pass; undefined when it does not exist */
  get<T>(path: string): Promise<T | undefined> {
    let p = this.cache.get(path);
    if (!p) {
      p = this.rest.get<T>(path).catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return undefined;
        throw e;
      });
      this.cache.set(path, p);
    }
    return p as Promise<T | undefined>;
  }

  async dataOf(kind: 'Secret' | 'ConfigMap', namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const path = `/api/v1/namespaces/${namespace}/${kind === 'Secret' ? 'secrets' : 'configmaps'}/${name}`;
    const obj = await this.get<{ data?: Record<string, string> }>(path);
    if (!obj) return undefined;
    const data = obj.data ?? {};
    return kind === 'Secret' ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) : data;
  }
}

async function keyOf(cache: AuthCache, kind: 'Secret' | 'ConfigMap', ns: string, name: string, key: string, what: string): Promise<string> {
  const data = await cache.dataOf(kind, ns, name);
  if (!data) throw new AuthError(`${what}: ${kind} ${ns}/${name} not found`);
  const v = Object.hasOwn(data, key) ? data[key] : undefined;
  if (v === undefined) throw new AuthError(`${what}: key "${key}" not found in ${kind} ${ns}/${name}`);
  return v;
}

/**
 * The containers whose env a scaled resource's triggers read, and what to call them in a message.
 * `containerName` is the resource's envSourceContainerName (the first container when unset).
 */
export interface EnvSource {
  namespace: string;
  containers(): Promise<Container[]>;
  containerName?: string;
  /** the field that names the container, e.g. `scaleTargetRef.envSourceContainerName` */
  containerField: string;
  /** where the containers are, e.g. `the scale target` */
  where: string;
}

/** A workload's pod template containers, read once per pass (a Deployment, a StatefulSet, any CRD with a template). */
export async function workloadContainers(cache: AuthCache, objectPath: string): Promise<Container[]> {
  const obj = await cache.get<{ spec?: { template?: { spec?: { containers?: Container[] } } } }>(objectPath);
  return obj?.spec?.template?.spec?.containers ?? [];
}

function pickContainer(containers: Container[], name: string | undefined, what: string, where: string): Container | undefined {
  if (!name) return containers[0];
  const c = containers.find((x) => x.name === name);
  if (!c) throw new AuthError(`${what}: container "${name}" not found in ${where}`);
  return c;
}

/** All env vars of one container: envFrom first, then env with $(VAR) expansion, as the kubelet orders them. */
async function containerEnv(cache: AuthCache, ns: string, c: Container): Promise<Record<string, string>> {
  // no prototype: a key such as `constructor` or `valueOf` is a variable only when a container defines it
  const env: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const from of c.envFrom ?? []) {
    const kind = from.configMapRef ? 'ConfigMap' : 'Secret';
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const data = await cache.dataOf(kind, ns, ref.name);
    if (!data) {
      if (ref.optional) continue;
      throw new AuthError(`envFrom of container "${c.name}": ${kind} ${ns}/${ref.name} not found`);
    }
    for (const [k, v] of Object.entries(data)) env[(from.prefix ?? '') + k] = v;
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = e.value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, v: string | undefined) => (m === '$$' ? '$' : v !== undefined && v in env ? env[v]! : m));
    } else if (e.valueFrom?.secretKeyRef || e.valueFrom?.configMapKeyRef) {
      const kind = e.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap';
      const ref = (e.valueFrom.secretKeyRef ?? e.valueFrom.configMapKeyRef)!;
      const data = await cache.dataOf(kind, ns, ref.name);
      const v = data && Object.hasOwn(data, ref.key) ? data[ref.key] : undefined;
      if (v === undefined) {
        if (ref.optional) continue;
        throw new AuthError(`env ${e.name} of container "${c.name}": key "${ref.key}" of ${kind} ${ns}/${ref.name} not found`);
      }
      env[e.name] = v;
    }
    // fieldRef / resourceFieldRef: skipped, as KEDA does
  }
  return env;
}

export interface TriggerInputs {
  authParams: Record<string, string>;
  resolvedEnv: Record<string, string>;
}

export async function resolveTriggerInputs(cache: AuthCache, env: EnvSource, trigger: TriggerSpec): Promise<TriggerInputs> {
  const ns = env.namespace;
  const authParams: Record<string, string> = {};
  let resolvedEnv: Record<string, string> = {};

  const wantsEnv = Object.keys(trigger.metadata ?? {}).some((k) => k.endsWith('FromEnv'));
  if (wantsEnv) {
    const c = pickContainer(await env.containers(), env.containerName, env.containerField, env.where);
    resolvedEnv = c ? await containerEnv(cache, ns, c) : {};
  }

  const ref = trigger.authenticationRef;
  if (!ref) return { authParams, resolvedEnv };
  const kind = ref.kind || 'TriggerAuthentication';
  let ta: TriggerAuthentication | undefined;
  let secretNs = ns;
  if (kind === 'TriggerAuthentication') {
    ta = await cache.get<TriggerAuthentication>(`/apis/keda.sh/v1alpha1/namespaces/${ns}/triggerauthentications/${ref.name}`);
  } else if (kind === 'ClusterTriggerAuthentication') {
    ta = await cache.get<TriggerAuthentication>(`/apis/keda.sh/v1alpha1/clustertriggerauthentications/${ref.name}`);
    secretNs = cache.clusterObjectNamespace;
  } else {
    throw new AuthError(`authenticationRef.kind "${kind}" must be TriggerAuthentication or ClusterTriggerAuthentication`);
  }
  const what = `${kind} ${kind === 'TriggerAuthentication' ? `${ns}/` : ''}${ref.name}`;
  if (!ta) throw new AuthError(`${what} not found`);
  const spec = ta.spec ?? {};
  const unsupported = UNSUPPORTED.filter((k) => spec[k] !== undefined && !(k === 'podIdentity' && (spec[k] as { provider?: string }).provider === 'none'));
  if (unsupported.length) throw new AuthError(`${what}: ${unsupported.join(', ')} not supported (supported: secretTargetRef, configMapTargetRef, env)`);

  // KEDA's order: env, then configMapTargetRef, then secretTargetRef; later ones overwrite
  for (const e of spec.env ?? []) {
    const c = pickContainer(await env.containers(), e.containerName, `${what} env ${e.parameter}`, env.where);
    const values = c ? await containerEnv(cache, ns, c) : {};
    authParams[e.parameter] = Object.hasOwn(values, e.name) ? values[e.name]! : '';
  }
  for (const r of spec.configMapTargetRef ?? []) {
    authParams[r.parameter] = await keyOf(cache, 'ConfigMap', secretNs, r.name, r.key, `${what} configMapTargetRef ${r.parameter}`);
  }
  for (const r of spec.secretTargetRef ?? []) {
    authParams[r.parameter] = await keyOf(cache, 'Secret', secretNs, r.name, r.key, `${what} secretTargetRef ${r.parameter}`);
  }
  return { authParams, resolvedEnv };
}
