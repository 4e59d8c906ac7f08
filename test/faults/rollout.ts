// The rollout the fault tests break: one Git repository holding N
// Kustomization paths and a Helm chart used by H HelmReleases, in two
// commits. Commit A creates everything; commit B changes every object,
// removes one per Kustomization (a prune) and adds one, and bumps the
// chart (a Helm upgrade). `converged` checks the cluster against a commit
// and lists every difference.
import type { FileContent } from '../gitserver/index.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';

export type Phase = 'A' | 'B';

export interface RolloutSize {
  kustomizations: number;
  helmReleases: number;
}

export const ksName = (i: number) => `ks-${String(i).padStart(3, '0')}`;
export const hrName = (i: number) => `hr-${String(i).padStart(2, '0')}`;

const cm = (name: string, data: Record<string, string>) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n${Object.entries(data)
    .map(([k, v]) => `  ${k}: "${v}"`)
    .join('\n')}\n`;

const deploy = (name: string, tag: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers: [{name: app, image: example.invalid/${name}:${tag}}]
`;

/** What one Kustomization's path holds at a phase: file name to the object's kind and name. */
function ksObjects(ks: string, phase: Phase): Array<{ file: string; kind: 'ConfigMap' | 'Deployment'; name: string; body: string }> {
  const out = [
    { file: 'keep.yaml', kind: 'ConfigMap' as const, name: `${ks}-keep`, body: cm(`${ks}-keep`, { phase }) },
    { file: 'web.yaml', kind: 'Deployment' as const, name: `${ks}-web`, body: deploy(`${ks}-web`, phase) },
  ];
  if (phase === 'A') out.push({ file: 'gone.yaml', kind: 'ConfigMap', name: `${ks}-gone`, body: cm(`${ks}-gone`, { phase }) });
  else out.push({ file: 'new.yaml', kind: 'ConfigMap', name: `${ks}-new`, body: cm(`${ks}-new`, { phase }) });
  return out;
}

const chartVersion = (phase: Phase) => (phase === 'A' ? '0.1.0' : '0.2.0');

function chartFiles(phase: Phase): Record<string, string> {
  const files: Record<string, string> = {
    'charts/web/Chart.yaml': `apiVersion: v2\nname: web\nversion: ${chartVersion(phase)}\n`,
    'charts/web/values.yaml': `phase: ${phase}\n`,
    'charts/web/templates/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  phase: {{ .Values.phase | quote }}\n',
    // A Deployment, so Helm's wait takes a moment: kills land inside Helm actions too.
    'charts/web/templates/web.yaml': deploy('{{ .Release.Name }}-web', '{{ .Values.phase }}'),
  };
  if (phase === 'B') files['charts/web/templates/extra.yaml'] = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata:\n  added: "B"\n';
  return files;
}

/** The files of a phase; moving from A to B deletes what B no longer has. */
export function rolloutFiles(size: RolloutSize, phase: Phase): Record<string, FileContent> {
  const files: Record<string, FileContent> = {};
  for (let i = 0; i < size.kustomizations; i++) {
    const ks = ksName(i);
    for (const o of ksObjects(ks, phase)) files[`apps/${ks}/${o.file}`] = o.body;
    if (phase === 'B') files[`apps/${ks}/gone.yaml`] = null;
  }
  if (size.helmReleases > 0) Object.assign(files, chartFiles(phase));
  return files;
}

const KS_API = '/apis/kustomize.toolkit.fluxcd.io/v1';
const HR_API = '/apis/helm.toolkit.fluxcd.io/v2';
const GIT_API = '/apis/source.toolkit.fluxcd.io/v1';

/** The GitRepository `app`, the Kustomizations and the HelmReleases, all in `ns`. */
export async function createRolloutObjects(client: KubeClient, ns: string, size: RolloutSize, gitUrl: string, o: { gitInterval?: string } = {}): Promise<void> {
  const post = (path: string, body: object) => client.request({ method: 'POST', path, body });
  await post(`${GIT_API}/namespaces/${ns}/gitrepositories`, {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name: 'app' },
    spec: { url: gitUrl, interval: o.gitInterval ?? '5s', timeout: '20s', ref: { branch: 'main' } },
  });
  for (let i = 0; i < size.kustomizations; i++) {
    await post(`${KS_API}/namespaces/${ns}/kustomizations`, {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: ksName(i) },
      spec: { interval: '10m', retryInterval: '3s', path: `./apps/${ksName(i)}`, prune: true, targetNamespace: ns, sourceRef: { kind: 'GitRepository', name: 'app' } },
    });
  }
  for (let i = 0; i < size.helmReleases; i++) {
    await post(`${HR_API}/namespaces/${ns}/helmreleases`, {
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata: { name: hrName(i) },
      spec: {
        interval: '10m',
        timeout: '1m',
        chart: { spec: { chart: './charts/web', interval: '5s', sourceRef: { kind: 'GitRepository', name: 'app' } } },
        // An install that meets the API server mid-restart fails (Helm's
        // manifest validation reads the server's OpenAPI), and by Flux's
        // defaults (no retries) it would then wait for a new generation, on
        // Flux as on Sluice. Retries are what such a fleet would set; what is
        // tested is that they recover, not the default.
        install: { remediation: { retries: 3 } },
        upgrade: { remediation: { retries: 3 } },
      },
    });
  }
}

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
type Flux = KubeObject & {
  status?: {
    conditions?: Cond[];
    lastAppliedRevision?: string;
    inventory?: { entries?: Array<{ id: string }> };
    history?: Array<{ chartVersion?: string; status?: string }>;
  };
};
const ready = (o: Flux) => o.status?.conditions?.find((c) => c.type === 'Ready');

/**
 * Every difference between the cluster and commit `revision` (phase
 * `phase`): Kustomizations not Ready there, inventories that differ from
 * Git or from what the cluster holds (lost or orphaned objects), objects
 * with another phase's content, HelmReleases not Ready on the phase's
 * chart, Helm releases left pending-*. Empty when converged.
 */
export async function differences(client: KubeClient, ns: string, size: RolloutSize, phase: Phase, revision: string): Promise<string[]> {
  const problems: string[] = [];
  const list = async <T = KubeObject>(path: string) => (await client.request<{ items: T[] }>({ path })).items;
  const [kss, cms, deps] = await Promise.all([
    list<Flux>(`${KS_API}/namespaces/${ns}/kustomizations`),
    list<KubeObject & { data?: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps`),
    list<KubeObject & { spec: { template: { spec: { containers: Array<{ image: string }> } } } }>(`/apis/apps/v1/namespaces/${ns}/deployments`),
  ]);
  const byName = new Map(kss.map((k) => [k.metadata.name, k]));
  const owned = new Map<string, Set<string>>();
  for (const o of [...cms.map((c) => ({ ...c, kind: 'ConfigMap' })), ...deps.map((d) => ({ ...d, kind: 'Deployment' }))]) {
    const owner = o.metadata.labels?.['kustomize.toolkit.fluxcd.io/name'];
    if (!owner) continue;
    const group = o.kind === 'Deployment' ? 'apps' : '';
    const set = owned.get(owner) ?? new Set<string>();
    set.add(`${ns}_${o.metadata.name}_${group}_${o.kind}`);
    owned.set(owner, set);
  }
  const cmData = new Map(cms.map((c) => [c.metadata.name ?? '', c.data ?? {}]));
  const images = new Map(deps.map((d) => [d.metadata.name ?? '', d.spec.template.spec.containers[0]?.image]));
  for (let i = 0; i < size.kustomizations; i++) {
    const name = ksName(i);
    const k = byName.get(name);
    if (!k) {
      problems.push(`Kustomization ${name} is gone`);
      continue;
    }
    const r = ready(k);
    if (r?.status !== 'True' || k.status?.lastAppliedRevision !== revision) {
      problems.push(`Kustomization ${name}: Ready=${r?.status} ${r?.reason ?? ''} at ${k.status?.lastAppliedRevision ?? 'nothing'}`);
      continue;
    }
    const want = ksObjects(name, phase).map((o) => `${ns}_${o.name}_${o.kind === 'Deployment' ? 'apps' : ''}_${o.kind}`).sort();
    const inv = (k.status?.inventory?.entries ?? []).map((e) => e.id).sort();
    const live = [...(owned.get(name) ?? [])].sort();
    if (inv.join() !== want.join()) problems.push(`Kustomization ${name}: inventory ${inv.join(' ')} is not Git's ${want.join(' ')}`);
    for (const id of live) if (!want.includes(id)) problems.push(`${id}: orphaned (labelled for ${name}, not in Git)`);
    for (const id of want) if (!live.includes(id)) problems.push(`${id}: lost (in Git and the inventory of ${name}, not in the cluster)`);
    for (const o of ksObjects(name, phase)) {
      if (o.kind === 'ConfigMap' && cmData.has(o.name) && cmData.get(o.name)!.phase !== phase) problems.push(`ConfigMap ${o.name} has phase ${cmData.get(o.name)!.phase}, not ${phase}`);
      if (o.kind === 'Deployment' && images.has(o.name) && images.get(o.name) !== `example.invalid/${o.name}:${phase}`) problems.push(`Deployment ${o.name} runs ${images.get(o.name)}`);
    }
  }
  if (size.helmReleases > 0) problems.push(...(await helmDifferences(client, ns, size, phase, cmData)));
  return problems;
}

async function helmDifferences(client: KubeClient, ns: string, size: RolloutSize, phase: Phase, cmData: Map<string, Record<string, string>>): Promise<string[]> {
  const problems: string[] = [];
  const hrs = (await client.request<{ items: Flux[] }>({ path: `${HR_API}/namespaces/${ns}/helmreleases` })).items;
  const secrets = (await client.request<{ items: KubeObject[] }>({ path: `/api/v1/namespaces/${ns}/secrets`, query: { labelSelector: 'owner=helm' } })).items;
  for (const s of secrets) {
    const st = s.metadata.labels?.status ?? '';
    if (st.startsWith('pending')) problems.push(`Helm release ${s.metadata.labels?.name} v${s.metadata.labels?.version} left ${st}`);
  }
  for (let i = 0; i < size.helmReleases; i++) {
    const name = hrName(i);
    const h = hrs.find((x) => x.metadata.name === name);
    const r = h && ready(h);
    const version = h?.status?.history?.[0]?.chartVersion;
    if (r?.status !== 'True' || version !== chartVersion(phase)) {
      problems.push(`HelmRelease ${name}: Ready=${r?.status} ${r?.reason ?? ''} ${r?.message?.slice(0, 160) ?? ''} on chart ${version ?? 'none'}`);
      continue;
    }
    const mine = secrets.filter((s) => s.metadata.labels?.name === name).sort((a, b) => Number(b.metadata.labels?.version) - Number(a.metadata.labels?.version));
    if (mine[0]?.metadata.labels?.status !== 'deployed') problems.push(`Helm release ${name}: newest revision is ${mine[0]?.metadata.labels?.status ?? 'missing'}`);
    if (cmData.get(`${name}-settings`)?.phase !== phase) problems.push(`ConfigMap ${name}-settings is not at phase ${phase}`);
    if (phase === 'B' && !cmData.has(`${name}-extra`)) problems.push(`ConfigMap ${name}-extra (chart 0.2.0) is missing`);
  }
  return problems;
}

/** Polls `differences` until there are none; the time it took, or the last differences on timeout. */
export async function untilConverged(client: KubeClient, ns: string, size: RolloutSize, phase: Phase, revision: string, timeoutMs: number): Promise<number> {
  const start = Date.now();
  let last: string[] = [];
  for (;;) {
    try {
      last = await differences(client, ns, size, phase, revision);
      if (last.length === 0) return Date.now() - start;
    } catch (err) {
      last = [String(err)];
    }
    if (Date.now() - start > timeoutMs) {
      throw new Error(`not converged to ${revision} after ${timeoutMs} ms; ${last.length} differences:\n${last.slice(0, 30).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** How many of the Kustomizations are Ready at `revision` now (progress, for the log). */
export async function readyCount(client: KubeClient, ns: string, revision: string): Promise<number> {
  const kss = (await client.request<{ items: Flux[] }>({ path: `${KS_API}/namespaces/${ns}/kustomizations` })).items;
  return kss.filter((k) => ready(k)?.status === 'True' && k.status?.lastAppliedRevision === revision).length;
}
