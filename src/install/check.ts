// `sluice check`: what `flux check` checks, for Sluice. The prerequisites
// (the cluster's Kubernetes version), then each installation's controller
// (rolled out, its image, its version against this CLI's) and the CRDs
// (established, their stored version, their version against this CLI's).
// Each finding is a line; the result fails if any line is a failure. Version
// skew and a Flux installation beside Sluice's are warnings: they work, but a
// person should know.
import semver from 'semver';
import { kinds } from '../api/crds.ts';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { findInstallations } from './installations.ts';

/** The Kubernetes versions Sluice supports: those Flux 2.9 supports. */
export const KUBERNETES_CONSTRAINT = '>=1.33.0-0';

export type Verdict = 'ok' | 'info' | 'warn' | 'fail';
export interface Finding {
  verdict: Verdict;
  message: string;
}
export interface CheckSection {
  title: string;
  findings: Finding[];
}

export interface CheckOptions {
  client: KubeClient;
  /** This CLI's version, compared with the controllers' and the CRDs'. */
  version: string;
  /** Only the prerequisites (before an install). */
  pre: boolean;
  /** Only the installation in this namespace (default: every Sluice installation). */
  namespace?: string;
}

const ok = (message: string): Finding => ({ verdict: 'ok', message });
const info = (message: string): Finding => ({ verdict: 'info', message });
const warn = (message: string): Finding => ({ verdict: 'warn', message });
const fail = (message: string): Finding => ({ verdict: 'fail', message });

/** The Kubernetes version against the constraint (pure). */
export function kubernetesFinding(gitVersion: string | undefined): Finding {
  const v = gitVersion ? semver.coerce(gitVersion, { includePrerelease: true }) : null;
  if (!gitVersion || !v) return fail(`Kubernetes version can't be determined (the API server reported ${JSON.stringify(gitVersion ?? '')})`);
  const clean = gitVersion.replace(/^v/, '').replace(/\+.*$/, '');
  return semver.satisfies(clean, KUBERNETES_CONSTRAINT, { includePrerelease: true })
    ? ok(`Kubernetes ${clean} ${KUBERNETES_CONSTRAINT}`)
    : fail(`Kubernetes version ${clean} does not match ${KUBERNETES_CONSTRAINT}`);
}

/** A version found in the cluster against this CLI's (pure): equal is fine, anything else is skew. */
export function skewFinding(what: string, found: string | undefined, cli: string): Finding | undefined {
  if (!found) return warn(`${what} carries no version label: installed by an older Sluice, or not by Sluice`);
  if (found === cli) return undefined;
  const a = semver.coerce(found);
  const b = semver.coerce(cli);
  const newer = a && b && semver.gt(a, b);
  return warn(`${what} is ${found}, this CLI is ${cli}: version skew (${newer ? 'upgrade this CLI' : 'upgrade the installation: `sluice bootstrap` again, a commit to gotk-components.yaml, or `sluice install`'})`);
}

type Crd = KubeObject & {
  status?: { storedVersions?: string[]; conditions?: Array<{ type: string; status: string; message?: string }> };
};

export async function runCheck(o: CheckOptions): Promise<CheckSection[]> {
  const sections: CheckSection[] = [];
  const version = await o.client.request<{ gitVersion?: string }>({ path: '/version' }).catch(() => ({ gitVersion: undefined }));
  sections.push({ title: 'checking prerequisites', findings: [kubernetesFinding(version.gitVersion)] });
  if (o.pre) return sections;

  const all = await findInstallations(o.client);
  const mine = all.filter((i) => i.distribution === 'sluice' && (!o.namespace || i.namespace === o.namespace));
  const controllers: Finding[] = [];
  if (!mine.length) controllers.push(fail(`no Sluice controller found${o.namespace ? ` in namespace ${o.namespace}` : ''} (label app.kubernetes.io/part-of=sluice): install it with \`sluice install\` or \`sluice bootstrap\``));
  for (const inst of mine) {
    for (const d of inst.deployments) {
      const where = `${inst.namespace}/${d.name}`;
      if (d.desired === 0) controllers.push(info(`${where}: 0 replicas (the controller runs outside the cluster, \`sluice controller\`)`));
      else if (d.rolledOut) controllers.push(ok(`${where}: deployment ready (${d.ready}/${d.desired})`));
      else controllers.push(fail(`${where}: deployment not ready (${d.ready}/${d.desired} ready)`));
      for (const image of d.images) controllers.push(info(image));
      const skew = skewFinding(`${where}`, d.version, o.version);
      if (skew) controllers.push(skew);
    }
  }
  for (const flux of all.filter((i) => i.distribution === 'flux')) {
    controllers.push(warn(`Flux's controllers run in namespace ${flux.namespace} (${flux.deployments.map((d) => d.name).join(', ')}): two controllers for the same objects fight; \`sluice bootstrap\` takes a Flux installation over`));
  }
  sections.push({ title: 'checking controllers', findings: controllers });

  const crds: Finding[] = [];
  for (const k of kinds) {
    const name = `${k.plural}.${k.group}`;
    const crd = await o.client.getOrUndefined<Crd>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    if (!crd) {
      crds.push(fail(`${name}: not installed`));
      continue;
    }
    const established = crd.status?.conditions?.find((c) => c.type === 'Established');
    const stored = crd.status?.storedVersions ?? [];
    if (established?.status !== 'True') crds.push(fail(`${name}: not established${established?.message ? `: ${established.message}` : ''}`));
    else if (!stored.length) crds.push(fail(`no stored versions for ${name}`));
    else crds.push(ok(`${name}/${stored[stored.length - 1]}`));
    if (stored.some((v) => v !== k.versions[0]!.name)) crds.push(warn(`${name}: objects stored as ${stored.join(', ')}; \`sluice migrate\` moves them to ${k.versions[0]!.name}`));
    const skew = skewFinding(name, crd.metadata.labels?.['app.kubernetes.io/version'], o.version);
    if (skew) crds.push(skew);
  }
  sections.push({ title: 'checking crds', findings: crds });
  return sections;
}

export const passed = (sections: CheckSection[]) => sections.every((s) => s.findings.every((f) => f.verdict !== 'fail'));
