// `sluice bootstrap --network network.yaml`: what Hyperledger Bevel does with
// `flux bootstrap git` for each organization of its network.yaml, done
// directly (src/bootstrap/network.ts reads the file). Everything that can
// fail without touching a cluster is checked for every organization first
// (the file, key files, kubeconfigs, reaching each cluster, credentials, host
// keys), then the clusters are shown and confirmed, then each is
// bootstrapped in turn.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bootstrapGit, BootstrapError } from '../bootstrap/bootstrap.ts';
import { CredentialError, scanHostKeys, sourceSecretData } from '../bootstrap/credentials.ts';
import { NetworkError, parseNetwork, selectOrganizations, type NetworkOrg } from '../bootstrap/network.ts';
import { imageReference } from '../install/image.ts';
import { KubeClient } from '../kube/client.ts';
import { GitError } from '../source/git/errors.ts';
import { parseGitUrl } from '../source/git/url.ts';
import type { SecretData } from '../source/git/auth.ts';
import { parseDuration } from '../util/duration.ts';
import { sluiceVersion } from '../util/paths.ts';
import { confirm } from './confirm.ts';
import { lastImageBuild } from './install.ts';
import { resolveKubeconfig } from './kubeconfig.ts';

export const networkUsage = `usage: sluice bootstrap --network network.yaml [flags]
Reads a Hyperledger Bevel network.yaml and, for each organization, does what
Bevel's \`flux bootstrap git\` does: in the cluster of k8s.context /
k8s.config_file, namespace flux-<env.type>, it commits the component and sync
manifests to <gitops.release_dir>/flux-<env.type>/ of gitops.git_url (branch
gitops.branch), installs Sluice and syncs that path. A path Flux bootstrapped
is taken over: Flux's objects stay, its controllers go.
  --network FILE          the network.yaml
  --org NAME              only this organization (repeatable; default every one)
  --dry-run               print what would be done per cluster; change nothing
  -y, --yes               do not ask: the clusters, SSH host keys fetched from the servers
  --known-hosts-file F    SSH host keys of the Git servers (instead of fetching them)
  --ca-file F             CA of the HTTPS Git servers
  --image IMAGE  --registry REG   the controller image (as \`sluice bootstrap git\`)
  --interval D            GitRepository interval (default 1m0s)
  --timeout D             how long to wait for each organization's sync (default 5m)
examples:
  sluice bootstrap --network build/network.yaml --dry-run
  sluice bootstrap --network build/network.yaml --org carrier --yes
`;

interface Prepared {
  org: NetworkOrg;
  client: KubeClient;
  secret: SecretData;
}

const who = (o: NetworkOrg) => `organizations[${o.index}] ${o.name}`;

class OrgError extends Error {}

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(
    () => true,
    () => false,
  );
}

/** Everything about one organization that can be checked without changing anything. */
async function prepare(org: NetworkOrg, o: { caFile?: string; knownHostsFile?: string; say: (l: string) => void }): Promise<Prepared> {
  const fail = (field: string, why: string) => new OrgError(`${who(org)}: ${field}: ${why}`);
  if (org.kubeconfig && !(await exists(org.kubeconfig))) throw fail('k8s.config_file', `file not found (${org.kubeconfig})`);
  if (org.privateKey && !(await exists(org.privateKey))) throw fail('gitops.private_key', `file not found (${org.privateKey})`);
  let client: KubeClient;
  try {
    client = await KubeClient.fromFile(org.kubeconfig ?? resolveKubeconfig(), org.context);
  } catch (err) {
    throw fail(org.context ? 'k8s.context' : 'k8s.config_file', (err as Error).message);
  }
  try {
    await client.request({ path: '/version', timeoutMs: 15_000 }).catch((err) => {
      throw fail('k8s', `cannot reach the cluster of context "${client.contextName}" at ${client.server}: ${(err as Error).message}`);
    });
    let knownHosts: string | undefined;
    if (org.protocol === 'ssh') {
      if (o.knownHostsFile) knownHosts = await readFile(o.knownHostsFile, 'utf8').catch(() => Promise.reject(new CredentialError(`--known-hosts-file ${o.knownHostsFile}: file not found`)));
      else {
        const url = parseGitUrl(org.url);
        const scanned = await scanHostKeys(org.url).catch((err) => Promise.reject(fail('gitops.git_url', (err as Error).message)));
        o.say(`► ${who(org)}: the host keys of ${url.sshHostPattern} are:`);
        for (const f of scanned.fingerprints) o.say(`  ${f}`);
        knownHosts = scanned.knownHosts;
      }
    }
    const secret = await sourceSecretData({
      url: org.url,
      privateKeyFile: org.privateKey,
      username: org.username,
      password: org.password,
      caFile: org.protocol === 'https' ? o.caFile : undefined,
      knownHosts,
    }).catch((err) => Promise.reject(err instanceof CredentialError ? fail(org.protocol === 'ssh' ? 'gitops.private_key' : 'gitops', err.message) : err));
    return { org, client, secret };
  } catch (err) {
    client.close();
    throw err;
  }
}

export async function bootstrapNetworkCommand(args: string[]): Promise<number> {
  const fail = (msg: string, code = 1) => (process.stderr.write(`sluice bootstrap: ${msg}\n`), code);
  let v;
  try {
    v = parseArgs({
      args,
      options: {
        network: { type: 'string' },
        org: { type: 'string', multiple: true },
        'dry-run': { type: 'boolean', default: false },
        yes: { type: 'boolean', short: 'y', default: false },
        'known-hosts-file': { type: 'string' },
        'ca-file': { type: 'string' },
        image: { type: 'string' },
        registry: { type: 'string' },
        interval: { type: 'string', default: '1m0s' },
        timeout: { type: 'string', default: '5m' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    return fail(`${(err as Error).message}\n${networkUsage}`, 2);
  }
  if (v.help) return process.stdout.write(networkUsage), 0;
  if (!v.network) return fail(`--network is required\n${networkUsage}`, 2);
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(v.timeout);
  } catch (err) {
    return fail(`--timeout: ${(err as Error).message}`, 2);
  }
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const file = resolve(v.network);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return fail(`--network ${v.network}: file not found`);
  const prepared: Prepared[] = [];
  try {
    const network = parseNetwork(text, v.network, dirname(file));
    const orgs = selectOrganizations(network, v.org ?? []);
    say(`► ${v.network}: ${orgs.length} organization${orgs.length === 1 ? '' : 's'} of a ${network.envType} network; Sluice goes into namespace flux-${network.envType} of each cluster`);
    say("! Bevel's --components-extra (image-reflector-controller, image-automation-controller) are not part of Sluice: skipped");
    for (const org of orgs) prepared.push(await prepare(org, { caFile: v['ca-file'], knownHostsFile: v['known-hosts-file'], say }));
    for (const p of prepared) {
      say(`► ${who(p.org)}: cluster context "${p.client.contextName}", API server ${p.client.server}; ${p.org.url} branch ${p.org.branch}, path ./${p.org.releaseDir}`);
    }
    if (!v['dry-run'] && !v.yes && !(await confirm(`bootstrap Sluice into ${prepared.length === 1 ? 'this cluster' : `these ${prepared.length} clusters`}, trusting the host keys shown?`))) {
      return fail('not confirmed: check the clusters (and host keys) above and pass --yes (or answer y on a terminal)');
    }
    const version = sluiceVersion();
    const image = imageReference({ image: v.image, registry: v.registry, record: lastImageBuild(), version });
    if (image.warning) say(`! ${image.warning}`);
    const done: string[] = [];
    for (const p of prepared) {
      say(`\n► ${who(p.org)}${v['dry-run'] ? ' (dry run)' : ''}`);
      try {
        await bootstrapGit({
          client: p.client,
          namespace: p.org.namespace,
          url: p.org.url,
          branch: p.org.branch,
          path: p.org.releaseDir,
          secretName: p.org.namespace,
          interval: v.interval,
          secret: p.secret,
          image: image.image,
          version,
          author: { name: p.org.username ?? 'Sluice', email: p.org.email ?? 'sluice@localhost' },
          timeoutMs,
          say,
          dryRun: v['dry-run'],
        });
      } catch (err) {
        if (err instanceof BootstrapError || err instanceof GitError) {
          const left = prepared.slice(prepared.indexOf(p) + 1).map((x) => x.org.name);
          throw new OrgError(`${who(p.org)}: ${err.message}${done.length ? `\n  bootstrapped: ${done.join(', ')}` : ''}${left.length ? `\n  not started: ${left.join(', ')}` : ''}`);
        }
        throw err;
      }
      done.push(p.org.name);
    }
    if (!v['dry-run']) say(`\n✔ bootstrapped ${done.join(', ')}`);
    return 0;
  } catch (err) {
    if (err instanceof NetworkError || err instanceof OrgError || err instanceof CredentialError) return fail(err.message);
    throw err;
  } finally {
    for (const p of prepared) p.client.close();
  }
}
