// The kinds the dashboard shows, with their collection paths. Appliers
// (Kustomization, HelmRelease) and sources; the order is the order of the
// kind filter.
export interface UiKind {
  kind: string;
  group: string;
  version: string;
  plural: string;
  /** A source kind (shown on the sources page). */
  source: boolean;
}

export const UI_KINDS: UiKind[] = [
  { kind: 'Kustomization', group: 'kustomize.toolkit.fluxcd.io', version: 'v1', plural: 'kustomizations', source: false },
  { kind: 'HelmRelease', group: 'helm.toolkit.fluxcd.io', version: 'v2', plural: 'helmreleases', source: false },
  { kind: 'GitRepository', group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'gitrepositories', source: true },
  { kind: 'OCIRepository', group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'ocirepositories', source: true },
  { kind: 'HelmRepository', group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'helmrepositories', source: true },
  { kind: 'HelmChart', group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'helmcharts', source: true },
  { kind: 'Bucket', group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'buckets', source: true },
];

export function uiKind(kind: string): UiKind | undefined {
  return UI_KINDS.find((k) => k.kind === kind);
}

/** Cluster-wide collection path, as the controller's manager names its caches. */
export function collectionPath(k: UiKind): string {
  return `/apis/${k.group}/${k.version}/${k.plural}`;
}

export function objectPath(k: UiKind, namespace: string, name: string): string {
  return `/apis/${k.group}/${k.version}/namespaces/${encodeURIComponent(namespace)}/${k.plural}/${encodeURIComponent(name)}`;
}
