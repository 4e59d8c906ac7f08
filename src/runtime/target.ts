// Where and as whom an applier (Kustomization, HelmRelease) acts: the
// controller's own cluster or the one of `spec.kubeConfig.secretRef`, as the
// controller or impersonating `spec.serviceAccountName` (or the default
// service account). What an applier keeps per target (an apply engine, shared
// caches for health checks, a helm identity) is made once per target and
// replaced when the kubeconfig Secret changes.
import { KubeClient } from '../kube/client.ts';
import { readSecret } from './secrets.ts';

/** The fields of an applier's spec that choose its target. */
export interface TargetSpec {
  kubeConfig?: { secretRef?: { name: string; key?: string } };
  serviceAccountName?: string;
}

/** A target: which cluster, and as whom. */
export interface TargetIdentity {
  /** Names the cluster and identity: what was learned about one target is not valid for another. */
  key: string;
  /** A client for the target, impersonating the service account when there is one. */
  client: KubeClient;
  /** The target cluster's kubeconfig (for programs run against it, such as the helm driver); made on first call. */
  kubeconfig: () => string;
  /** The impersonated user (system:serviceaccount:NS:NAME), if any. */
  asUser?: string;
}

/** The kubeConfig Secret is missing or lacks its key: the message says which. */
export class TargetError extends Error {
  constructor(
    readonly problem: 'secretNotFound' | 'keyNotFound',
    /** namespace/name of the Secret. */
    readonly secret: string,
    /** The key looked for, with keyNotFound. */
    readonly dataKey?: string,
  ) {
    super(problem === 'secretNotFound' ? `kubeconfig Secret '${secret}' not found` : `kubeconfig Secret '${secret}' has no key '${dataKey}'`);
    this.name = 'TargetError';
  }
}

export interface TargetsOptions<T> {
  /** The controller's own client. */
  client: KubeClient;
  /** Impersonated when a spec names no service account (Flux's --default-service-account). */
  defaultServiceAccount?: string;
  /** What the applier keeps per target. */
  make: (id: TargetIdentity) => T;
  /** Releases what `make` made (stops its caches) when its target is replaced or the controller stops. */
  release?: (t: T) => void;
}

interface Entry<T> {
  id: TargetIdentity;
  value: T;
  /** resourceVersion of the kubeconfig Secret it was made from. */
  version?: string;
}

/** One entry per target, made on first use. */
export class Targets<T> {
  readonly #entries = new Map<string, Entry<T>>();
  #localKubeconfig: string | undefined;

  constructor(private readonly o: TargetsOptions<T>) {}

  /** The target of an object in `namespace` with this spec, and what the applier keeps for it. */
  async for(namespace: string, spec: TargetSpec): Promise<{ id: TargetIdentity; value: T }> {
    let base: { client: KubeClient; kubeconfig: () => string };
    let baseKey = 'local';
    let version: string | undefined;
    const ref = spec.kubeConfig?.secretRef;
    if (ref) {
      const secret = await readSecret(this.o.client, namespace, ref.name);
      if (!secret) throw new TargetError('secretNotFound', `${namespace}/${ref.name}`);
      const dataKey = ref.key ?? (secret.data.value ? 'value' : 'value.yaml');
      const data = secret.data[dataKey];
      if (!data) throw new TargetError('keyNotFound', `${namespace}/${ref.name}`, dataKey);
      baseKey = `remote/${namespace}/${ref.name}`;
      version = secret.resourceVersion;
      const cached = this.#entries.get(baseKey);
      if (cached && cached.version === version) base = cached.id;
      else {
        const kubeconfig = data.toString('utf8');
        base = { client: await KubeClient.fromString(kubeconfig), kubeconfig: () => kubeconfig };
        this.#put(baseKey, { id: { key: baseKey, ...base }, value: this.o.make({ key: baseKey, ...base }), version });
      }
    } else {
      base = { client: this.o.client, kubeconfig: () => (this.#localKubeconfig ??= this.o.client.exportKubeconfig()) };
    }
    const sa = spec.serviceAccountName ?? this.o.defaultServiceAccount;
    const key = sa ? `${baseKey}/sa/${namespace}/${sa}` : baseKey;
    const hit = this.#entries.get(key);
    if (hit && hit.version === version) return hit;
    const id: TargetIdentity = sa
      ? // The API server adds the service account's groups itself; naming them
        // would need `impersonate` on groups, which could reach system:masters.
        { key, client: base.client.impersonate({ user: `system:serviceaccount:${namespace}:${sa}` }), kubeconfig: base.kubeconfig, asUser: `system:serviceaccount:${namespace}:${sa}` }
      : { key, ...base };
    const entry = { id, value: this.o.make(id), version };
    this.#put(key, entry);
    return entry;
  }

  /** Releases everything made. */
  stop(): void {
    for (const e of this.#entries.values()) this.o.release?.(e.value);
    this.#entries.clear();
  }

  #put(key: string, e: Entry<T>): void {
    const old = this.#entries.get(key);
    if (old) this.o.release?.(old.value);
    this.#entries.set(key, e);
  }
}
