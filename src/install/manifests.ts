// What `sluice install` applies: CRDs, namespace, RBAC and the controller.
import { allCrds } from '../api/crds.ts';
import type { KubeObject } from '../kube/object.ts';

export interface InstallOptions {
  namespace: string;
  /** Container image of the controller, by digest (see image.ts). */
  image: string;
  /** Controller replicas; 0 when the controller runs outside the cluster (`sluice controller`). */
  replicas: number;
  /**
   * Multi-tenant lock-down: the controller gets no cluster-admin binding and
   * applies only through the service accounts Kustomizations name (or the
   * default one), so RBAC confines every tenant.
   */
  multiTenant: boolean;
  version: string;
  /**
   * The web dashboard, served by the controller on port 9797 behind the
   * Service sluice-dashboard: `read-only`, or `actions` (token login,
   * actions by impersonation, and the RBAC that needs). Default off.
   */
  dashboard?: 'off' | 'read-only' | 'actions';
}

/** The dashboard's port in the pod. */
export const DASHBOARD_PORT = 9797;

/**
 * Names of the cluster-scoped objects of the installation in `namespace`.
 * They carry the namespace, as Flux's do (`cluster-reconciler-<ns>`), so two
 * installations on one cluster (Bevel runs one per network) never rebind or,
 * on uninstall, delete each other's RBAC.
 */
export const clusterNames = (namespace: string) => ({
  /** The controller's own ClusterRole and its binding. */
  controller: `sluice-controller-${namespace}`,
  /** The ClusterRoleBinding that gives the controller cluster-admin (single-tenant installs only). */
  reconciler: `sluice-reconciler-${namespace}`,
  /** The dashboard's ClusterRole and binding (with --dashboard or --dashboard-actions only). */
  dashboard: `sluice-dashboard-${namespace}`,
});

/**
 * On every CRD: a Kustomization that applied the components (bootstrap's)
 * never prunes them, when its files change or when it is deleted. Deleting a
 * CRD deletes every object of its kind in the cluster, other installations'
 * too; only `sluice uninstall` removes CRDs, and only when no other
 * installation remains.
 */
const CRD_ANNOTATIONS = { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' };

const LABELS = { 'app.kubernetes.io/part-of': 'sluice', 'app.kubernetes.io/component': 'controller' };

/** The image's non-root user and group (src/dev/image/base.ts). */
const UID = 65532;

/**
 * Requests and limits from the benchmarks (README, Figures): the controller's
 * RSS is 130-150 MiB steady and at a 1,000-app rollout, 296 MiB at 10,000
 * Kustomizations, and the helm driver adds up to ~130 MiB under 1,000
 * HelmReleases (269 MiB together). Requests cover the common case with the
 * driver; the limit leaves room for the 10,000-object peak plus git,
 * kustomize and helm child processes. CPU: 2.5 % of a core steady, bursts to
 * whatever is free while rolling out, so no CPU limit (no throttling).
 */
const RESOURCES = { requests: { cpu: '100m', memory: '320Mi' }, limits: { memory: '1Gi' } };

/** Everything `sluice install` applies: CRDs, namespace, RBAC, the controller its artifact Service and the webhook receiver's Service. */
export function installManifests(o: InstallOptions): KubeObject[] {
  const ns = o.namespace;
  const sa = 'sluice-controller';
  const names = clusterNames(ns);
  const crds = (allCrds() as KubeObject[]).map((c) => ({ ...c, metadata: { ...c.metadata, annotations: { ...c.metadata.annotations, ...CRD_ANNOTATIONS } } }));
  const objects: KubeObject[] = [
    ...crds,
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: LABELS } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns, labels: LABELS } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: names.controller, labels: LABELS },
      // What the controller itself needs; applying the users' objects is granted separately below.
      rules: [
        // patch: a Receiver's webhook sets reconcile.fluxcd.io/requestedAt on the objects it names; finalizers.
        { apiGroups: ['source.toolkit.fluxcd.io', 'kustomize.toolkit.fluxcd.io', 'helm.toolkit.fluxcd.io'], resources: ['*'], verbs: ['get', 'list', 'watch', 'patch', 'update'] },
        // create and delete: HelmReleases own the HelmCharts made from their chart templates; nothing else is made or deleted.
        { apiGroups: ['source.toolkit.fluxcd.io'], resources: ['helmcharts'], verbs: ['create', 'delete'] },
        { apiGroups: ['source.toolkit.fluxcd.io', 'kustomize.toolkit.fluxcd.io', 'helm.toolkit.fluxcd.io'], resources: ['*/status', '*/finalizers'], verbs: ['get', 'patch', 'update'] },
        // Providers, Alerts and Receivers are read, and lose the finalizer Flux's earlier releases put on them; their status is written.
        { apiGroups: ['notification.toolkit.fluxcd.io'], resources: ['providers', 'alerts', 'receivers'], verbs: ['get', 'list', 'watch', 'patch'] },
        { apiGroups: ['notification.toolkit.fluxcd.io'], resources: ['providers/status', 'alerts/status', 'receivers/status'], verbs: ['get', 'patch', 'update'] },
        { apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['get', 'list', 'watch'] },
        // Sluice's revision record of each Kustomization (sluice-history-<name>), beside it: also with --multi-tenant.
        { apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'update'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
        // Whether its own namespace is being deleted (runtime/teardown.ts).
        { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
        { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] },
        // Tokens for kubeConfig.configMapRef (provider generic): the remote cluster trusts this cluster's service-account tokens.
        { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
        { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: names.controller, labels: LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: names.controller },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'sluice-leader-election', namespace: ns, labels: LABELS },
      rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'sluice-leader-election', namespace: ns, labels: LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'sluice-leader-election' },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    },
  ];
  if (!o.multiTenant) {
    // Applying arbitrary manifests needs cluster-admin, as Flux's reconciler binding has it.
    objects.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: names.reconciler, labels: LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    });
  }
  const dashboard = o.dashboard ?? 'off';
  if (dashboard !== 'off') {
    const rules: Array<Record<string, string[]>> = [
      // A detail page's recent events (the controller itself only writes them).
      { apiGroups: [''], resources: ['events'], verbs: ['list'] },
    ];
    if (dashboard === 'actions') {
      rules.push(
        // Who holds a token, and whether RBAC lets them patch the object, asked before each action.
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
        // The action itself is sent as the logged-in user and their groups: the API server checks it again with their rights.
        { apiGroups: [''], resources: ['users', 'groups'], verbs: ['impersonate'] },
      );
    }
    objects.push(
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: names.dashboard, labels: LABELS }, rules },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: names.dashboard, labels: LABELS },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: names.dashboard },
        subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
      },
    );
  }
  if (dashboard !== 'off') {
    objects.push({
      // Only the dashboard's port; reach it with kubectl port-forward or an Ingress.
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'sluice-dashboard', namespace: ns, labels: LABELS },
      spec: { selector: { app: 'sluice-controller' }, ports: [{ name: 'http', port: 80, targetPort: 'dashboard' }] },
    });
  }
  objects.push(
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'sluice-artifacts', namespace: ns, labels: LABELS },
      spec: { selector: { app: 'sluice-controller' }, ports: [{ name: 'http', port: 80, targetPort: 9090 }] },
    },
    {
      // Receivers' webhooks (/hook/...), as Flux's webhook-receiver Service; expose it with an Ingress to reach it from a forge.
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'sluice-webhook-receiver', namespace: ns, labels: LABELS },
      spec: { selector: { app: 'sluice-controller' }, ports: [{ name: 'http', port: 80, targetPort: 'http-webhook' }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'sluice-controller', namespace: ns, labels: LABELS },
      spec: {
        replicas: o.replicas,
        selector: { matchLabels: { app: 'sluice-controller' } },
        template: {
          metadata: { labels: { app: 'sluice-controller', ...LABELS } },
          spec: {
            serviceAccountName: sa,
            // The controller drains running reconciles for up to 30 s on SIGTERM and
            // then releases its Lease; the default 30 s grace would SIGKILL it first.
            terminationGracePeriodSeconds: 60,
            securityContext: { runAsNonRoot: true, runAsUser: UID, runAsGroup: UID, fsGroup: UID, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'controller',
                image: o.image,
                imagePullPolicy: 'IfNotPresent',
                args: [
                  'controller',
                  // On with any number of replicas: a rolling update runs the
                  // old and the new pod side by side, and only one may act.
                  '--leader-elect',
                  `--leader-election-namespace=${ns}`,
                  '--http-addr=0.0.0.0:8080',
                  '--storage-addr=0.0.0.0:9090',
                  '--receiverAddr=0.0.0.0:9292',
                  `--artifact-base-url=http://sluice-artifacts.${ns}.svc.cluster.local.`,
                  '--data-dir=/data',
                  ...(o.multiTenant ? ['--no-cross-namespace-refs', '--default-service-account=default'] : []),
                  ...(dashboard !== 'off' ? [`--dashboard-addr=0.0.0.0:${DASHBOARD_PORT}`] : []),
                  ...(dashboard === 'actions' ? ['--dashboard-actions'] : []),
                ],
                // A small young generation: steady RSS 5-25 MiB lower at 1,000
                // Kustomizations, with no measurable CPU cost (bench/lib.ts runs the same).
                env: [
                  { name: 'NODE_OPTIONS', value: '--max-semi-space-size=4' },
                  // Flux's controllers know their namespace the same way.
                  { name: 'RUNTIME_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                ],
                ports: [
                  { name: 'http', containerPort: 8080 },
                  { name: 'artifacts', containerPort: 9090 },
                  { name: 'http-webhook', containerPort: 9292 },
                  ...(dashboard !== 'off' ? [{ name: 'dashboard', containerPort: DASHBOARD_PORT }] : []),
                ],
                readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 10 },
                livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 20, failureThreshold: 3 },
                resources: RESOURCES,
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [
              { name: 'data', emptyDir: {} },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
      },
    },
  );
  if (o.replicas >= 2) {
    // A drain or a node upgrade never takes every replica at once.
    objects.push({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'sluice-controller', namespace: ns, labels: LABELS },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'sluice-controller' } } },
    });
  }
  for (const obj of objects) {
    obj.metadata.labels = { ...obj.metadata.labels, 'app.kubernetes.io/version': o.version };
  }
  return objects;
}
