// Where and as whom an applier (Kustomization, HelmRelease) acts: the
// controller's own cluster or the one of `spec.kubeConfig.secretRef` (or the
// kubeconfig built from `spec.kubeConfig.configMapRef`, kubeconfigmap.ts), as the
// controller or impersonating `spec.serviceAccountName` (or the default
// service account). What an applier keeps per target (an apply engine, shared
// caches for health checks, a helm identity) is made once per target and
// replaced when the kubeconfig Secret changes.
import { KubeClient } from '../kube/client.ts';
import { checkUntrustedKubeconfig, UntrustedKubeconfigError } from '../kube/untrusted.ts';
import { kubeconfigFor, parseKubeConfigMap, requestToken } from './kubeconfigmap.ts';
import { readSecret } from './secrets.ts';
import { Reachability, UnreachableError } from './reachability.ts';

/** The fields of an applier's spec that choose its target. */
export interface TargetSpec {
  kubeConfig?: { secretRef?: { name: string; key?: string }; configMapRef?: { name: string } };
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

/** The kubeConfig Secret is missing or lacks its key, or the kubeConfig ConfigMap is missing or cannot be served: the message says which. */
export class TargetError extends Error {
  constructor(
    readonly problem: 'secretNotFound' | 'keyNotFound' | 'configMapNotFound' | 'configMapInvalid' | 'kubeconfigRefused' | 'serviceAccountInvalid' | 'unreachable',
    /** namespace/name of the Secret (or of the ConfigMap); with unreachable, which of the two it is. */
    readonly secret: string,
    /** The key looked for, with keyNotFound. */
    readonly dataKey?: string,
    /** What is wrong, with configMapInvalid, kubeconfigRefused and unreachable. */
    detail?: string,
  ) {
    super(
      problem === 'unreachable'
        ? `cannot reach the cluster of kubeconfig ${secret}: ${detail}`
        : problem === 'secretNotFound'
        ? `kubeconfig Secret '${secret}' not found`
        : problem === 'keyNotFound'
          ? `kubeconfig Secret '${secret}' has no key '${dataKey}'`
          : problem === 'configMapNotFound'
            ? `kubeconfig ConfigMap '${secret}' not found`
            : (detail ?? `kubeconfig ConfigMap '${secret}' cannot be used`),
    );
    this.name = 'TargetError';
  }
}

/** A service account's name: a DNS subdomain (RFC 1123), at most 253 characters. */
const SA_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Requests to a remote cluster give up sooner than the controller's own
 * (60 s): a remote that dies mid-reconcile holds the workers in flight for
 * this long, once; after that the reachability gate fails its work at once.
 */
const REMOTE_REQUEST_TIMEOUT_MS = 20_000;

/** How long before its token expires a kubeconfig built from a ConfigMap is built anew. */
const TOKEN_RENEW_MS = 10 * 60_000;

export interface TargetsOptions<T> {
  /** The controller's own client. */
  client: KubeClient;
  /** Impersonated when a spec names no service account (Flux's --default-service-account). */
  defaultServiceAccount?: string;
  /**
   * Whose token a kubeConfig.configMapRef without serviceAccountName gets
   * (Flux's --default-kubeconfig-service-account), in the object's namespace.
   * Without it the controller's own account is used, except under lockdown
   * (defaultServiceAccount set): a tenant's ConfigMap chooses the address and
   * the audiences, so it could have the controller's own token minted for
   * this cluster's API server and sent to a server of its choosing.
   */
  defaultKubeConfigServiceAccount?: string;
  /** What the applier keeps per target. */
  make: (id: TargetIdentity) => T;
  /** Releases what `make` made (stops its caches) when its target is replaced or the controller stops. */
  release?: (t: T) => void;
  /** The gate in front of remote clusters (one is made when not given). */
  reachability?: Reachability;
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
  /** Per ConfigMap-built target: the ConfigMap version and token expiry its entry was made with. */
  readonly #tokens = new Map<string, { configMapVersion?: string; expiresAt: number }>();
  #localKubeconfig: string | undefined;
  readonly #reachability: Reachability;

  constructor(private readonly o: TargetsOptions<T>) {
    this.#reachability = o.reachability ?? new Reachability();
  }

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
        try {
          checkUntrustedKubeconfig(kubeconfig, `kubeconfig Secret '${namespace}/${ref.name}' key '${dataKey}'`);
        } catch (err) {
          if (!(err instanceof UntrustedKubeconfigError)) throw err;
          throw new TargetError('kubeconfigRefused', `${namespace}/${ref.name}`, dataKey, err.message);
        }
        base = { client: await KubeClient.fromString(kubeconfig, undefined, { timeoutMs: REMOTE_REQUEST_TIMEOUT_MS }), kubeconfig: () => kubeconfig };
        this.#put(baseKey, { id: { key: baseKey, ...base }, value: this.o.make({ key: baseKey, ...base }), version });
      }
    } else if (spec.kubeConfig?.configMapRef) {
      ({ base, baseKey, version } = await this.#fromConfigMap(namespace, spec.kubeConfig.configMapRef.name));
    } else {
      base = { client: this.o.client, kubeconfig: () => (this.#localKubeconfig ??= this.o.client.exportKubeconfig()) };
    }
    if (baseKey !== 'local') {
      // A remote cluster that does not answer fails here, at once, instead of
      // holding a worker for each request's timeout (reachability.ts).
      const gateKey = `${baseKey}@${version}`;
      try {
        await this.#reachability.check(gateKey, base.client);
        // Dropping the client's connections fails the requests under way at
        // once; the client itself opens new ones on its next use.
        const client = base.client;
        this.#reachability.watch(gateKey, client, () => client.close());
      } catch (err) {
        if (!(err instanceof UnreachableError)) throw err;
        const what = ref ? `Secret '${namespace}/${ref.name}'` : `ConfigMap '${namespace}/${spec.kubeConfig!.configMapRef!.name}'`;
        throw new TargetError('unreachable', what, undefined, err.message);
      }
    }
    const sa = spec.serviceAccountName || this.o.defaultServiceAccount;
    if (sa !== undefined && !SA_NAME.test(sa)) {
      // `kube-system:default` would make the user system:serviceaccount:NS:kube-system:default, which is no service account.
      throw new TargetError('serviceAccountInvalid', `${namespace}/${sa}`, undefined, `spec.serviceAccountName ${JSON.stringify(sa)} is not a service account name (a DNS subdomain, in the object's namespace)`);
    }
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

  /**
   * The cluster of a kubeConfig ConfigMap, with a service-account token made
   * for it; made again when the ConfigMap changes or the token nears its end.
   */
  async #fromConfigMap(namespace: string, name: string): Promise<{ base: { client: KubeClient; kubeconfig: () => string }; baseKey: string; version: string }> {
    const where = `'${namespace}/${name}'`;
    const cm = await this.o.client.getOrUndefined<{ metadata: { resourceVersion?: string }; data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/configmaps/${name}`);
    if (!cm) throw new TargetError('configMapNotFound', `${namespace}/${name}`);
    const baseKey = `remote-cm/${namespace}/${name}`;
    const cached = this.#entries.get(baseKey);
    const token = this.#tokens.get(baseKey);
    if (cached?.version && token && token.configMapVersion === cm.metadata.resourceVersion && token.expiresAt - Date.now() > TOKEN_RENEW_MS) {
      return { base: cached.id, baseKey, version: cached.version };
    }
    let kubeconfig: string;
    let expiresAt: number;
    try {
      const params = parseKubeConfigMap(cm.data ?? {}, where);
      params.serviceAccountName ??= this.o.defaultKubeConfigServiceAccount;
      if (!params.serviceAccountName && this.o.defaultServiceAccount) {
        throw new Error(`kubeconfig ConfigMap ${where}: no serviceAccountName, and with --default-service-account (multi-tenant lockdown) the controller does not lend its own identity: set serviceAccountName, or run the controller with --default-kubeconfig-service-account`);
      }
      const issued = await requestToken(this.o.client, namespace, params, where);
      kubeconfig = kubeconfigFor(params, issued.token);
      expiresAt = issued.expiresAt;
    } catch (err) {
      throw new TargetError('configMapInvalid', `${namespace}/${name}`, undefined, (err as Error).message);
    }
    const version = `${cm.metadata.resourceVersion}/${expiresAt}`;
    const base = { client: await KubeClient.fromString(kubeconfig, undefined, { timeoutMs: REMOTE_REQUEST_TIMEOUT_MS }), kubeconfig: () => kubeconfig };
    this.#put(baseKey, { id: { key: baseKey, ...base }, value: this.o.make({ key: baseKey, ...base }), version });
    this.#tokens.set(baseKey, { configMapVersion: cm.metadata.resourceVersion, expiresAt });
    return { base, baseKey, version };
  }

  /** Releases everything made. */
  stop(): void {
    this.#reachability.stop();
    for (const e of this.#entries.values()) this.o.release?.(e.value);
    this.#entries.clear();
    this.#tokens.clear();
  }

  #put(key: string, e: Entry<T>): void {
    const old = this.#entries.get(key);
    if (old) this.o.release?.(old.value);
    this.#entries.set(key, e);
  }
}
