// Hyperledger Bevel's network.yaml, read for what it tells a GitOps
// bootstrap: per organization, the cluster (k8s.context, k8s.config_file)
// and the repository its operator syncs (gitops: git_protocol, git_url or
// the older git_ssh / git_push_url, branch, release_dir, username,
// password, email, private_key). Bevel runs `flux bootstrap git` per
// organization with --path=<release_dir> and --namespace=flux-<env.type>;
// Sluice derives the same, so every existing Bevel repository and its
// HelmReleases (which name the GitRepository flux-<env.type>) work unchanged.
// Pure: the text in, the organizations or an error naming the file, line,
// organization and field out; never a password in an error.
import { isAbsolute, resolve } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';

export interface NetworkOrg {
  /** Position in network.organizations, for messages. */
  index: number;
  name: string;
  /** k8s.config_file, resolved against the network file's folder; the default kubeconfig when absent. */
  kubeconfig?: string;
  /** k8s.context; the kubeconfig's current context when absent. */
  context?: string;
  /** flux-<env.type>: the namespace and the name of the sync objects, as Bevel's Flux bootstrap makes them. */
  namespace: string;
  protocol: 'https' | 'ssh';
  url: string;
  branch: string;
  releaseDir: string;
  username?: string;
  password?: string;
  email?: string;
  /** gitops.private_key: the path of the SSH key file, resolved. */
  privateKey?: string;
}

export interface Network {
  envType: string;
  organizations: NetworkOrg[];
}

export class NetworkError extends Error {}

type Raw = Record<string, unknown>;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** `git@host:org/repo.git` (scp style, which Bevel's docs show) as the ssh:// URL Flux's GitRepository takes. */
export function sshUrl(raw: string): string {
  if (/^ssh:\/\//.test(raw)) return raw;
  const scp = /^(?:([^@/]+)@)?([^:/]+):(?!\/)(.+)$/.exec(raw);
  if (scp) return `ssh://${scp[1] ?? 'git'}@${scp[2]}/${scp[3]!.replace(/^\//, '')}`;
  return raw;
}

/** An HTTPS URL; Bevel's older git_push_url is written without its scheme. */
export function httpsUrl(raw: string): string {
  return /^[a-z]+:\/\//.test(raw) ? raw : `https://${raw.replace(/^\/+/, '')}`;
}

export function parseNetwork(text: string, file: string, baseDir: string): Network {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new NetworkError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  /** `file:line: ` of the node at `path`, or of its nearest parent that exists. */
  const at = (path: Array<string | number>): string => {
    for (let p = path; ; p = p.slice(0, -1)) {
      const node = (p.length ? doc.getIn(p, true) : doc.contents) as { range?: [number, number, number] } | undefined;
      if (node?.range) return `${file}:${lines.linePos(node.range[0]).line}: `;
      if (!p.length) return `${file}: `;
    }
  };
  const root = doc.toJS() as { network?: Raw } | null;
  const network = root?.network;
  if (!network || typeof network !== 'object') throw new NetworkError(`${at([])}no "network:" section: is this a Bevel network.yaml?`);
  const envType = (network.env as Raw | undefined)?.type;
  if (typeof envType !== 'string' || !envType) throw new NetworkError(`${at(['network', 'env'])}network.env.type: missing (the operator's namespace is flux-<env.type>)`);
  const namespace = `flux-${envType}`;
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) throw new NetworkError(`${at(['network', 'env', 'type'])}network.env.type: "${envType}" does not make a namespace name (flux-${envType})`);
  const orgsNode = doc.getIn(['network', 'organizations'], true);
  if (!isSeq(orgsNode)) throw new NetworkError(`${at(['network'])}network.organizations: missing, or not a list`);
  const organizations: NetworkOrg[] = [];
  (network.organizations as unknown[]).forEach((item, index) => {
    const path = ['network', 'organizations', index];
    if (!isMap(doc.getIn(path, true))) throw new NetworkError(`${at(path)}organizations[${index}]: not a mapping`);
    const org = item as Raw;
    const name = typeof org.name === 'string' ? org.name : undefined;
    const who = `organizations[${index}]${name ? ` ${name}` : ''}`;
    const bad = (field: string, why: string) => new NetworkError(`${at([...path, ...field.split('.')])}${who}: ${field}: ${why}`);
    if (!name) throw bad('name', 'missing');
    const str = (section: Raw | undefined, key: string): string | undefined => {
      const v = section?.[key];
      if (v === undefined || v === null || v === '') return undefined;
      if (typeof v !== 'string' && typeof v !== 'number') throw bad(`${section === org.k8s ? 'k8s' : 'gitops'}.${key}`, 'not a string');
      return String(v);
    };
    const k8s = org.k8s as Raw | undefined;
    const gitops = org.gitops as Raw | undefined;
    if (!gitops || typeof gitops !== 'object') throw bad('gitops', 'missing: the section that names the repository to sync');
    const declared = str(gitops, 'git_protocol');
    if (declared && declared !== 'https' && declared !== 'ssh') throw bad('gitops.git_protocol', `"${declared}": must be https or ssh`);
    const given = str(gitops, 'git_url') ?? (declared === 'ssh' ? str(gitops, 'git_ssh') : str(gitops, 'git_push_url')) ?? str(gitops, 'git_ssh') ?? str(gitops, 'git_push_url');
    if (!given) throw bad('gitops.git_url', 'missing (or the older git_ssh / git_push_url)');
    const protocol: NetworkOrg['protocol'] = (declared as NetworkOrg['protocol'] | undefined) ?? (/^(ssh:\/\/|[^/]+@[^/:]+:)/.test(given) ? 'ssh' : 'https');
    const url = protocol === 'ssh' ? sshUrl(given) : httpsUrl(given);
    if (protocol === 'ssh' && !url.startsWith('ssh://')) throw bad('gitops.git_url', `"${given}" is not an SSH URL, and git_protocol is ssh`);
    if (protocol === 'https' && !/^https?:\/\//.test(url)) throw bad('gitops.git_url', `"${given}" is not an HTTPS URL, and git_protocol is https`);
    const branch = str(gitops, 'branch');
    if (!branch) throw bad('gitops.branch', 'missing');
    const releaseDir = str(gitops, 'release_dir');
    if (!releaseDir) throw bad('gitops.release_dir', 'missing (the path the operator syncs)');
    if (releaseDir.replace(/\\/g, '/').split('/').includes('..')) throw bad('gitops.release_dir', `"${releaseDir}" leaves the repository`);
    const username = str(gitops, 'username');
    const password = str(gitops, 'password');
    const privateKey = str(gitops, 'private_key');
    if (protocol === 'https' && !username) throw bad('gitops.username', 'missing (HTTPS needs a username and a password or token)');
    if (protocol === 'https' && !password) throw bad('gitops.password', 'missing (HTTPS needs a username and a password or token)');
    if (protocol === 'ssh' && !privateKey) throw bad('gitops.private_key', 'missing (SSH needs the path of a private key with write access)');
    const file = (p: string | undefined) => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(baseDir, p));
    organizations.push({
      index,
      name,
      kubeconfig: file(str(k8s, 'config_file')),
      context: str(k8s, 'context'),
      namespace,
      protocol,
      url,
      branch,
      releaseDir,
      username,
      password: protocol === 'https' ? password : undefined,
      email: str(gitops, 'email'),
      privateKey: protocol === 'ssh' ? file(privateKey) : undefined,
    });
  });
  if (!organizations.length) throw new NetworkError(`${at(['network', 'organizations'])}network.organizations: empty`);
  return { envType, organizations };
}

/** The organizations `--org` names (all when none); an unknown name is an error listing the known ones. */
export function selectOrganizations(network: Network, names: string[]): NetworkOrg[] {
  if (!names.length) return network.organizations;
  const known = network.organizations.map((o) => o.name);
  for (const n of names) if (!known.includes(n)) throw new NetworkError(`--org ${n}: no such organization (the network has ${known.join(', ')})`);
  return network.organizations.filter((o) => names.includes(o.name));
}
