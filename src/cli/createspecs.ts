// What `sluice create` makes from its flags, as pure functions: the objects
// flux create would generate, with Flux's defaults, and the errors that name
// the flag to fix.
import type { KubeObject } from '../kube/object.ts';
import { parseDuration } from '../util/duration.ts';

export class CreateError extends Error {}

type Flags = Record<string, string | boolean | string[] | undefined>;
const str = (f: Flags, k: string): string | undefined => (typeof f[k] === 'string' && f[k] !== '' ? (f[k] as string) : undefined);
/** A list flag: repeated, or comma-separated, as flux's string slices. */
export const list = (f: Flags, k: string): string[] => {
  const v = f[k];
  const all = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  return all.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
};

function duration(f: Flags, k: string, fallback?: string): string | undefined {
  const v = str(f, k) ?? fallback;
  if (v === undefined) return undefined;
  try {
    parseDuration(v);
  } catch {
    throw new CreateError(`--${k} ${v}: not a duration (e.g. 1m, 10m30s)`);
  }
  return v;
}

function meta(name: string, namespace: string, f: Flags): KubeObject['metadata'] {
  const labels: Record<string, string> = {};
  for (const l of list(f, 'label')) {
    const i = l.indexOf('=');
    if (i <= 0) throw new CreateError(`--label ${l}: use KEY=VALUE`);
    labels[l.slice(0, i)] = l.slice(i + 1);
  }
  return { name, namespace, ...(Object.keys(labels).length ? { labels } : {}) };
}

/** `Kind/name[.namespace]`, the way flux create takes --source, --depends-on and --health-check. */
export function parseRef(text: string, defaultKind: string | undefined, flag: string, kinds?: string[]): { kind?: string; name: string; namespace?: string } {
  const slash = text.indexOf('/');
  const kind = slash >= 0 ? text.slice(0, slash) : defaultKind;
  const rest = slash >= 0 ? text.slice(slash + 1) : text;
  const dot = rest.indexOf('.');
  const name = dot >= 0 ? rest.slice(0, dot) : rest;
  const namespace = dot >= 0 ? rest.slice(dot + 1) : undefined;
  if (!name) throw new CreateError(`--${flag} ${text}: use ${kinds ? `${kinds.join('|')}/` : ''}NAME[.NAMESPACE]`);
  if (kinds && kind) {
    const k = kinds.find((x) => x.toLowerCase() === kind.toLowerCase());
    if (!k) throw new CreateError(`--${flag} ${text}: the kind must be one of ${kinds.join(', ')}`);
    return { kind: k, name, ...(namespace ? { namespace } : {}) };
  }
  return { ...(kind ? { kind } : {}), name, ...(namespace ? { namespace } : {}) };
}

export function gitRepository(name: string, namespace: string, f: Flags, secretRef?: string): KubeObject {
  const url = str(f, 'url');
  if (!url) throw new CreateError('--url is required');
  if (!/^(https?|ssh):\/\//.test(url)) throw new CreateError(`--url ${url}: use an http://, https:// or ssh:// URL`);
  const ref: Record<string, string> = {};
  if (str(f, 'commit')) ref.commit = str(f, 'commit')!;
  else if (str(f, 'tag-semver')) ref.semver = str(f, 'tag-semver')!;
  else if (str(f, 'tag')) ref.tag = str(f, 'tag')!;
  else if (str(f, 'ref-name')) ref.name = str(f, 'ref-name')!;
  if (str(f, 'branch') && !ref.commit) ref.branch = str(f, 'branch')!;
  if (!Object.keys(ref).length) ref.branch = 'master';
  const ignore = list(f, 'ignore-paths');
  const spec: Record<string, unknown> = { interval: duration(f, 'interval', '1m'), url, ref };
  if (secretRef) spec.secretRef = { name: secretRef };
  if (ignore.length) spec.ignore = `${ignore.join('\n')}\n`;
  if (f['recurse-submodules'] === true) spec.recurseSubmodules = true;
  return { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: meta(name, namespace, f), spec };
}

export function ociRepository(name: string, namespace: string, f: Flags): KubeObject {
  const url = str(f, 'url');
  if (!url?.startsWith('oci://')) throw new CreateError('--url is required and must start with oci://');
  const ref: Record<string, string> = {};
  if (str(f, 'digest')) ref.digest = str(f, 'digest')!;
  else if (str(f, 'tag-semver')) ref.semver = str(f, 'tag-semver')!;
  else ref.tag = str(f, 'tag') ?? 'latest';
  const spec: Record<string, unknown> = { interval: duration(f, 'interval', '1m'), url, ref };
  if (str(f, 'secret-ref')) spec.secretRef = { name: str(f, 'secret-ref') };
  if (str(f, 'provider') && str(f, 'provider') !== 'generic') spec.provider = str(f, 'provider');
  if (f.insecure === true) spec.insecure = true;
  const ignore = list(f, 'ignore-paths');
  if (ignore.length) spec.ignore = `${ignore.join('\n')}\n`;
  return { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'OCIRepository', metadata: meta(name, namespace, f), spec };
}

export function helmRepository(name: string, namespace: string, f: Flags, secretRef?: string): KubeObject {
  const url = str(f, 'url');
  if (!url || !/^(https?|oci):\/\//.test(url)) throw new CreateError('--url is required: an http(s):// chart repository or an oci:// registry');
  const spec: Record<string, unknown> = { interval: duration(f, 'interval', '1m'), url };
  if (url.startsWith('oci://')) spec.type = 'oci';
  if (secretRef) spec.secretRef = { name: secretRef };
  if (f['pass-credentials'] === true) spec.passCredentials = true;
  return { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'HelmRepository', metadata: meta(name, namespace, f), spec };
}

const SOURCE_KINDS = ['GitRepository', 'OCIRepository', 'Bucket'];

export function kustomization(name: string, namespace: string, f: Flags): KubeObject {
  const source = str(f, 'source');
  if (!source) throw new CreateError('--source is required: [GitRepository|OCIRepository|Bucket/]NAME[.NAMESPACE]');
  const sourceRef = parseRef(source, 'GitRepository', 'source', SOURCE_KINDS);
  const path = str(f, 'path') ?? './';
  if (path.startsWith('/') || path.split('/').includes('..')) throw new CreateError(`--path ${path}: a path inside the source, such as ./apps`);
  const spec: Record<string, unknown> = {
    interval: duration(f, 'interval', '1m'),
    path: path.startsWith('./') || path === '.' ? path : `./${path}`,
    prune: f.prune === true,
    sourceRef,
  };
  if (str(f, 'target-namespace')) spec.targetNamespace = str(f, 'target-namespace');
  if (str(f, 'retry-interval')) spec.retryInterval = duration(f, 'retry-interval');
  if (str(f, 'health-check-timeout')) spec.timeout = duration(f, 'health-check-timeout');
  if (f.wait === true) spec.wait = true;
  const deps = list(f, 'depends-on').map((d) => parseRef(d, undefined, 'depends-on'));
  if (deps.length) spec.dependsOn = deps.map(({ name: n, namespace: ns }) => ({ name: n, ...(ns ? { namespace: ns } : {}) }));
  const checks = list(f, 'health-check').map((h) => {
    const r = parseRef(h, undefined, 'health-check');
    if (!r.kind) throw new CreateError(`--health-check ${h}: use Kind/NAME.NAMESPACE`);
    return r;
  });
  if (checks.length) spec.healthChecks = checks.map((c) => ({ kind: c.kind, name: c.name, ...(c.namespace ? { namespace: c.namespace } : {}) }));
  const provider = str(f, 'decryption-provider');
  if (provider) {
    if (provider !== 'sops') throw new CreateError(`--decryption-provider ${provider}: only sops is supported`);
    spec.decryption = { provider, ...(str(f, 'decryption-secret') ? { secretRef: { name: str(f, 'decryption-secret') } } : {}) };
  } else if (str(f, 'decryption-secret')) throw new CreateError('--decryption-secret needs --decryption-provider sops');
  if (str(f, 'service-account')) spec.serviceAccountName = str(f, 'service-account');
  if (str(f, 'kubeconfig-secret-ref')) spec.kubeConfig = { secretRef: { name: str(f, 'kubeconfig-secret-ref') } };
  return { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: meta(name, namespace, f), spec };
}

/** values files are read by the caller; this takes their parsed, merged content. */
export function helmRelease(name: string, namespace: string, f: Flags, values?: Record<string, unknown>): KubeObject {
  const spec: Record<string, unknown> = { interval: duration(f, 'interval', '1m') };
  const chartRef = str(f, 'chart-ref');
  if (chartRef) {
    if (str(f, 'source') || str(f, 'chart')) throw new CreateError('--chart-ref replaces --source and --chart: give one or the other');
    spec.chartRef = parseRef(chartRef, undefined, 'chart-ref', ['OCIRepository', 'HelmChart']);
  } else {
    const source = str(f, 'source');
    const chart = str(f, 'chart');
    if (!source || !chart) throw new CreateError('--source HelmRepository|GitRepository|Bucket/NAME and --chart are required (or --chart-ref)');
    const sourceRef = parseRef(source, undefined, 'source', ['HelmRepository', 'GitRepository', 'Bucket']);
    if (!sourceRef.kind) throw new CreateError(`--source ${source}: name the kind, e.g. HelmRepository/${source}`);
    const chartSpec: Record<string, unknown> = { chart, sourceRef };
    if (str(f, 'chart-version')) chartSpec.version = str(f, 'chart-version');
    if (str(f, 'reconcile-strategy')) chartSpec.reconcileStrategy = str(f, 'reconcile-strategy');
    spec.chart = { spec: chartSpec };
  }
  if (str(f, 'release-name')) spec.releaseName = str(f, 'release-name');
  if (str(f, 'target-namespace')) spec.targetNamespace = str(f, 'target-namespace');
  if (str(f, 'storage-namespace')) spec.storageNamespace = str(f, 'storage-namespace');
  if (f['create-target-namespace'] === true) spec.install = { createNamespace: true };
  if (str(f, 'service-account')) spec.serviceAccountName = str(f, 'service-account');
  if (str(f, 'crds')) {
    const policy = str(f, 'crds')!;
    if (!['Skip', 'Create', 'CreateReplace'].includes(policy)) throw new CreateError(`--crds ${policy}: Skip, Create or CreateReplace`);
    spec.install = { ...((spec.install as object) ?? {}), crds: policy === 'CreateReplace' ? 'Create' : policy };
    spec.upgrade = { crds: policy };
  }
  const deps = list(f, 'depends-on').map((d) => parseRef(d, undefined, 'depends-on'));
  if (deps.length) spec.dependsOn = deps.map(({ name: n, namespace: ns }) => ({ name: n, ...(ns ? { namespace: ns } : {}) }));
  const from = list(f, 'values-from').map((v) => parseRef(v, undefined, 'values-from', ['ConfigMap', 'Secret']));
  for (const v of from) if (!v.kind) throw new CreateError('--values-from: use Secret/NAME or ConfigMap/NAME');
  if (from.length) spec.valuesFrom = from.map((v) => ({ kind: v.kind, name: v.name }));
  if (values && Object.keys(values).length) spec.values = values;
  return { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: meta(name, namespace, f), spec };
}

/** A Secret with the data given as bytes, stored base64 as the API takes it. */
export function secret(name: string, namespace: string, f: Flags, data: Record<string, Buffer>, type = 'Opaque'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(name, namespace, f),
    type,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('base64')])),
  } as KubeObject;
}

/** The .dockerconfigjson of a registry login, as kubectl create secret docker-registry writes it. */
export function dockerConfig(server: string, username: string, password: string): Buffer {
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  return Buffer.from(JSON.stringify({ auths: { [server]: { username, password, auth } } }));
}
