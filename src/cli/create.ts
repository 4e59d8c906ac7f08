// `sluice create source git|oci|helm`, `create kustomization`, `create
// helmrelease`, `create secret git|helm|oci|tls`: Flux's objects from flags,
// applied and waited for (or printed with --export). Secrets come from files
// or standard input, never from the command line.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { CredentialError, scanHostKeys, sourceSecretData } from '../bootstrap/credentials.ts';
import type { KubeClient } from '../kube/client.ts';
import { findCondition, type KubeObject } from '../kube/object.ts';
import { formatDuration, parseDuration } from '../util/duration.ts';
import { isMap, mergeValues } from '../util/values.ts';
import { CreateError, dockerConfig, gitRepository, helmRelease, helmRepository, kustomization, ociRepository, secret } from './createspecs.ts';
import { DEFAULT_NAMESPACE } from './args.ts';
import { exportDoc } from './export.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';

const common = `  --export                    print the YAML instead of applying it
  --label KEY=VALUE           labels (repeatable)
  --interval DURATION         how often to reconcile (default 1m)
  --timeout DURATION          how long to wait for the first reconcile (default 5m)
  -n, --namespace NS          namespace (default ${DEFAULT_NAMESPACE})
  --kubeconfig FILE  --context NAME`;
const secretFlags = `  --username U --password-stdin | --password-file F   basic auth (the password never on the command line)`;

const usage = `usage: sluice create KIND NAME [flags]
  source git NAME --url URL [--branch B | --tag T | --tag-semver R | --commit SHA | --ref-name REF]
${secretFlags}
      --private-key-file F [--known-hosts-file F, else fetched with ssh-keyscan] (ssh://)   --ca-file F   --secret-ref NAME   --ignore-paths P,...
  source oci NAME --url oci://REPO [--tag T | --tag-semver R | --digest D] [--secret-ref S] [--provider P] [--insecure]
  source helm NAME --url URL (http(s):// or oci://) [--secret-ref S] [--username U --password-stdin] [--pass-credentials]
  kustomization NAME --source [Kind/]NAME[.NS] [--path ./dir] [--prune] [--target-namespace NS] [--depends-on NAME[.NS],...]
      [--wait] [--health-check Kind/NAME.NS,...] [--health-check-timeout D] [--retry-interval D]
      [--decryption-provider sops --decryption-secret S] [--service-account SA] [--kubeconfig-secret-ref S]
  helmrelease NAME --source HelmRepository|GitRepository/NAME[.NS] --chart CHART [--chart-version V] | --chart-ref OCIRepository|HelmChart/NAME
      [--values FILE ...] [--values-from Secret|ConfigMap/NAME,...] [--target-namespace NS] [--create-target-namespace]
      [--release-name N] [--storage-namespace NS] [--depends-on NAME,...] [--service-account SA] [--crds Skip|Create|CreateReplace]
  secret git NAME --url URL [--username U --password-stdin | --private-key-file F --known-hosts-file F] [--ca-file F]
  secret helm NAME [--username U --password-stdin] [--ca-file F] [--cert-file F --key-file F]
  secret oci NAME --url REGISTRY --username U --password-stdin
  secret tls NAME [--ca-crt-file F] [--tls-crt-file F --tls-key-file F]
${common}

examples:
  sluice create source git podinfo --url https://github.com/stefanprodan/podinfo --branch master --interval 10m
  echo "$TOKEN" | sluice create source git private --url https://example.com/org/app.git --username git --password-stdin
  sluice create ks podinfo --source GitRepository/podinfo --path ./kustomize --prune --target-namespace apps
  sluice create hr podinfo --source HelmRepository/podinfo --chart podinfo --values ./values.yaml --export > podinfo.yaml
  sluice create secret tls certs --tls-crt-file ./tls.crt --tls-key-file ./tls.key
`;

const options = {
  ...clusterFlags,
  namespace: { type: 'string', short: 'n' },
  export: { type: 'boolean', default: false },
  label: { type: 'string', multiple: true },
  interval: { type: 'string' },
  url: { type: 'string' },
  branch: { type: 'string' },
  tag: { type: 'string' },
  'tag-semver': { type: 'string' },
  commit: { type: 'string' },
  'ref-name': { type: 'string' },
  digest: { type: 'string' },
  provider: { type: 'string' },
  insecure: { type: 'boolean' },
  'secret-ref': { type: 'string' },
  username: { type: 'string', short: 'u' },
  password: { type: 'string', short: 'p' },
  'password-stdin': { type: 'boolean', default: false },
  'password-file': { type: 'string' },
  'private-key-file': { type: 'string' },
  'known-hosts-file': { type: 'string' },
  'ca-file': { type: 'string' },
  'cert-file': { type: 'string' },
  'key-file': { type: 'string' },
  'ca-crt-file': { type: 'string' },
  'tls-crt-file': { type: 'string' },
  'tls-key-file': { type: 'string' },
  'ignore-paths': { type: 'string', multiple: true },
  'recurse-submodules': { type: 'boolean' },
  'pass-credentials': { type: 'boolean' },
  source: { type: 'string' },
  path: { type: 'string' },
  prune: { type: 'boolean' },
  wait: { type: 'boolean' },
  'target-namespace': { type: 'string' },
  'depends-on': { type: 'string', multiple: true },
  'health-check': { type: 'string', multiple: true },
  'health-check-timeout': { type: 'string' },
  'retry-interval': { type: 'string' },
  'decryption-provider': { type: 'string' },
  'decryption-secret': { type: 'string' },
  'service-account': { type: 'string' },
  'kubeconfig-secret-ref': { type: 'string' },
  chart: { type: 'string' },
  'chart-version': { type: 'string' },
  'chart-ref': { type: 'string' },
  'reconcile-strategy': { type: 'string' },
  values: { type: 'string', multiple: true },
  'values-from': { type: 'string', multiple: true },
  'release-name': { type: 'string' },
  'storage-namespace': { type: 'string' },
  'create-target-namespace': { type: 'boolean' },
  crds: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = Record<string, string | boolean | string[] | undefined>;

export async function createCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options });
  const v = values as Values;
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const fail = (msg: string) => {
    process.stderr.write(`sluice create: ${msg}\n${usage}`);
    return 2;
  };
  if (values.password !== undefined) return fail('--password would put the secret on the command line (shell history, ps): use --password-stdin or --password-file');
  const [what, sub, ...rest] = positionals.map((p, i) => (i < 2 ? p.toLowerCase() : p));
  const two = what === 'source' || what === 'secret';
  const name = two ? rest[0] : sub;
  const extra = two ? rest.slice(1) : rest;
  if (!what) return fail('missing KIND');
  if (!name || extra.length) return fail('give one NAME');
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) return fail(`"${name}" is not a valid name: lowercase letters, digits, '-' and '.'`);
  const namespace = values.namespace ?? DEFAULT_NAMESPACE;
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(values.timeout ?? '5m');
  } catch (err) {
    return fail((err as Error).message);
  }
  let objects: KubeObject[];
  try {
    objects = await generate(what, two ? sub : undefined, name, namespace, v);
  } catch (err) {
    if (err instanceof CreateError || err instanceof CredentialError) return fail(err.message);
    throw err;
  }
  if (values.export) {
    process.stdout.write(objects.map((o) => exportDoc(o)).join(''));
    return 0;
  }
  const client = await clientFromFlags(values);
  try {
    const main = objects[objects.length - 1]!;
    const human = `${main.kind}${what === 'source' ? ' source' : ''}`;
    process.stderr.write(`✚ generating ${human}\n`);
    for (const o of objects) {
      const isSecret = o.kind === 'Secret';
      process.stderr.write(`► applying ${isSecret && o !== main ? 'Secret with the credentials' : human}\n`);
      await apply(client, o);
      process.stderr.write(`✔ ${isSecret && o !== main ? 'authentication configured' : `${human} created`}\n`);
    }
    if (main.kind === 'Secret') return 0;
    return await waitReady(client, main, human, timeoutMs);
  } finally {
    client.close();
  }
}

async function password(v: Values): Promise<string | undefined> {
  if (v['password-file']) return (await readFile(v['password-file'] as string, 'utf8')).replace(/\r?\n$/, '');
  if (v['password-stdin']) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  return undefined;
}

async function file(v: Values, flag: string): Promise<Buffer | undefined> {
  const p = v[flag];
  if (typeof p !== 'string') return undefined;
  return readFile(p).catch((err: NodeJS.ErrnoException) => {
    throw new CreateError(`--${flag} ${p}: ${err.code === 'ENOENT' ? 'file not found' : err.message}`);
  });
}

/** The objects to apply, the Secret first when the command makes one. */
async function generate(what: string, sub: string | undefined, name: string, namespace: string, v: Values): Promise<KubeObject[]> {
  const labelsOnly: Values = { label: v.label };
  if (what === 'source') {
    if (sub === 'git') {
      const creds = v.username !== undefined || v['password-stdin'] || v['password-file'] || v['private-key-file'] || v['ca-file'];
      if (creds && v['secret-ref']) throw new CreateError('--secret-ref names an existing Secret: leave out the credential flags');
      const secretObjs = creds ? [await gitSecret(name, namespace, v, labelsOnly)] : [];
      return [...secretObjs, gitRepository(name, namespace, v, creds ? name : (v['secret-ref'] as string | undefined))];
    }
    if (sub === 'oci') return [ociRepository(name, namespace, v)];
    if (sub === 'helm') {
      const creds = v.username !== undefined || v['password-stdin'] || v['password-file'] || v['ca-file'] || v['cert-file'];
      if (creds && v['secret-ref']) throw new CreateError('--secret-ref names an existing Secret: leave out the credential flags');
      const secretObjs = creds ? [await helmSecret(name, namespace, v, labelsOnly)] : [];
      return [...secretObjs, helmRepository(name, namespace, v, creds ? name : (v['secret-ref'] as string | undefined))];
    }
    throw new CreateError(`unknown source kind "${sub ?? ''}": git, oci or helm`);
  }
  if (what === 'kustomization' || what === 'ks') return [kustomization(name, namespace, v)];
  if (what === 'helmrelease' || what === 'hr') {
    let merged: Record<string, unknown> = {};
    for (const p of (v.values as string[] | undefined) ?? []) {
      const doc = parse((await file({ values: p }, 'values'))!.toString('utf8')) as unknown;
      if (doc !== null && !isMap(doc)) throw new CreateError(`--values ${p}: not a YAML map of values`);
      merged = mergeValues(merged, (doc ?? {}) as Record<string, unknown>);
    }
    return [helmRelease(name, namespace, v, merged)];
  }
  if (what === 'secret') {
    if (sub === 'git') return [await gitSecret(name, namespace, v, labelsOnly)];
    if (sub === 'helm') return [await helmSecret(name, namespace, v, labelsOnly)];
    if (sub === 'oci') {
      const server = v.url as string | undefined;
      const pw = await password(v);
      if (!server || !v.username || pw === undefined) throw new CreateError('secret oci needs --url REGISTRY, --username and --password-stdin (or --password-file)');
      return [secret(name, namespace, labelsOnly, { '.dockerconfigjson': dockerConfig(server.replace(/^oci:\/\//, ''), v.username as string, pw) }, 'kubernetes.io/dockerconfigjson')];
    }
    if (sub === 'tls') {
      const data: Record<string, Buffer> = {};
      const ca = await file(v, 'ca-crt-file');
      const crt = await file(v, 'tls-crt-file');
      const key = await file(v, 'tls-key-file');
      if (!!crt !== !!key) throw new CreateError('--tls-crt-file and --tls-key-file go together');
      if (!ca && !crt) throw new CreateError('secret tls needs --ca-crt-file, or --tls-crt-file and --tls-key-file');
      if (ca) data['ca.crt'] = ca;
      if (crt) data['tls.crt'] = crt;
      if (key) data['tls.key'] = key;
      return [secret(name, namespace, labelsOnly, data, crt ? 'kubernetes.io/tls' : 'Opaque')];
    }
    throw new CreateError(`unknown secret kind "${sub ?? ''}": git, helm, oci or tls`);
  }
  throw new CreateError(`unknown kind "${what}": source git|oci|helm, kustomization (ks), helmrelease (hr) or secret git|helm|oci|tls`);
}

async function gitSecret(name: string, namespace: string, v: Values, labels: Values): Promise<KubeObject> {
  if (!v.url) throw new CreateError('--url is required');
  let knownHosts = (await file(v, 'known-hosts-file'))?.toString('utf8');
  if (!knownHosts && v['private-key-file'] && /^ssh:\/\//.test(String(v.url))) {
    // As flux create does: the server's host keys fetched with ssh-keyscan, shown by fingerprint.
    const scanned = await scanHostKeys(v.url as string);
    knownHosts = scanned.knownHosts;
    for (const fp of scanned.fingerprints) process.stderr.write(`◎ host key ${fp}\n`);
  }
  const data = await sourceSecretData({
    url: v.url as string,
    privateKeyFile: v['private-key-file'] as string | undefined,
    username: v.username as string | undefined,
    password: v['private-key-file'] ? undefined : await password(v),
    caFile: v['ca-file'] as string | undefined,
    knownHosts,
  });
  return secret(name, namespace, labels, data as Record<string, Buffer>);
}

async function helmSecret(name: string, namespace: string, v: Values, labels: Values): Promise<KubeObject> {
  const data: Record<string, Buffer> = {};
  const pw = await password(v);
  if (v.username !== undefined || pw !== undefined) {
    if (!v.username || pw === undefined) throw new CreateError('--username and --password-stdin (or --password-file) go together');
    data.username = Buffer.from(v.username as string);
    data.password = Buffer.from(pw);
  }
  const ca = await file(v, 'ca-file');
  const crt = await file(v, 'cert-file');
  const key = await file(v, 'key-file');
  if (!!crt !== !!key) throw new CreateError('--cert-file and --key-file go together');
  if (ca) data['ca.crt'] = ca;
  if (crt) data['tls.crt'] = crt;
  if (key) data['tls.key'] = key;
  if (!Object.keys(data).length) throw new CreateError('nothing to put in the Secret: give --username and --password-stdin, or --ca-file, --cert-file and --key-file');
  return secret(name, namespace, labels, data);
}

function pathOf(o: KubeObject): string {
  const ns = o.metadata.namespace!;
  if (o.kind === 'Secret') return `/api/v1/namespaces/${ns}/secrets/${o.metadata.name}`;
  const plural = { GitRepository: 'gitrepositories', OCIRepository: 'ocirepositories', HelmRepository: 'helmrepositories', Kustomization: 'kustomizations', HelmRelease: 'helmreleases' }[o.kind]!;
  return `/apis/${o.apiVersion}/namespaces/${ns}/${plural}/${o.metadata.name}`;
}

async function apply(client: KubeClient, o: KubeObject): Promise<void> {
  await client.request({ method: 'PATCH', path: pathOf(o), query: { fieldManager: 'sluice', force: 'true' }, contentType: 'application/apply-patch+yaml', body: o });
}

/** Until the controller has reconciled this generation: 0 Ready, 1 failed or timed out. */
async function waitReady(client: KubeClient, o: KubeObject, human: string, timeoutMs: number): Promise<number> {
  process.stderr.write(`◎ waiting for ${human} reconciliation\n`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const live = await client.getOrUndefined<KubeObject>(pathOf(o));
    const status = (live?.status ?? {}) as Record<string, any>;
    const ready = live && findCondition(live, 'Ready');
    if (live && status.observedGeneration === live.metadata.generation && ready && ready.status !== 'Unknown') {
      if (ready.status === 'False') {
        process.stderr.write(`✗ ${ready.message ?? ready.reason}\n`);
        return 1;
      }
      process.stderr.write(`✔ ${human} reconciliation completed\n`);
      const rev = status.artifact?.revision ?? status.lastAppliedRevision ?? status.history?.[0]?.chartVersion;
      if (rev) process.stdout.write(`✔ ${status.artifact ? 'fetched' : 'applied'} revision: ${rev}\n`);
      return 0;
    }
    if (Date.now() >= deadline) {
      process.stderr.write(`✗ timed out after ${formatDuration(timeoutMs)} waiting for ${human} ${o.metadata.namespace}/${o.metadata.name} to be reconciled (is the controller running? sluice get ${o.kind === 'HelmRelease' ? 'hr' : o.kind === 'Kustomization' ? 'ks' : 'sources all'} -n ${o.metadata.namespace})\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
