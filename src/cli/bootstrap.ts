// `sluice bootstrap git`: Flux's `flux bootstrap git` on any Git server (see
// src/bootstrap/). The cluster it will touch is printed first and confirmed,
// unless --yes: bootstrapping the wrong cluster is the mistake that hurts.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { bootstrapGit, BootstrapError } from '../bootstrap/bootstrap.ts';
import { CredentialError, scanHostKeys, sourceSecretData } from '../bootstrap/credentials.ts';
import { GitError } from '../source/git/errors.ts';
import { parseGitUrl } from '../source/git/url.ts';
import { parseDuration } from '../util/duration.ts';
import { sluiceVersion } from '../util/paths.ts';
import { imageReference } from '../install/image.ts';
import { lastImageBuild } from './install.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { confirm } from './confirm.ts';
import { bootstrapNetworkCommand, networkUsage } from './bootstrapnetwork.ts';

const usage = `usage: sluice bootstrap git --url URL --path DIR [flags]
Commits Sluice's components and sync manifests to DIR/<namespace>/ of the
branch (gotk-components.yaml, gotk-sync.yaml, kustomization.yaml, as Flux's
bootstrap does), installs the components, writes the source Secret and waits
until the cluster follows the repository. Running it again changes nothing.
  --url URL                   https:// or ssh:// URL of the repository
  --branch NAME               (default main)
  --path DIR                  the cluster's directory in the repository, e.g. clusters/prod
  --namespace NS              installation namespace; also the name of the sync objects and the Secret (default flux-system)
  --secret-name NAME          source Secret (default: the namespace)
  --interval D                GitRepository interval (default 1m0s)
  --private-key-file F        SSH private key (ssh:// URLs); --password-stdin reads its passphrase
  --ssh-hostkey LINE | --known-hosts-file F
                              the server's host keys; without them they are fetched, their
                              fingerprints printed, and --yes (or an answer) confirms them
  --username U                HTTPS user (default git)
  --password-stdin | --password-file F
                              HTTPS password or token (never on the command line)
  --token-auth                the password is a token (user git), as Flux's flag
  --ca-file F                 CA of the Git server
  --author-name N --author-email E   of the bootstrap commit (default Sluice, sluice@localhost)
  --components-extra LIST     Flux's image automation controllers: not part of Sluice, reported and skipped
  --image IMAGE               controller image (default: the last \`sluice image build\`, by digest)
  --registry REG              where that image was pushed: REG/sluice:<version>@<digest>
  --timeout D                 how long to wait for the sync (default 5m)
  -y, --yes                   do not ask: the cluster, the fetched host keys
  --kubeconfig FILE  --context NAME

examples:
  sluice bootstrap git --url ssh://git@git.example.com/fleet.git --path clusters/prod --private-key-file ~/.ssh/fleet
  echo "$TOKEN" | sluice bootstrap git --url https://git.example.com/fleet.git --path clusters/dev --token-auth --password-stdin --yes
`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export async function bootstrapCommand(argv: string[]): Promise<number> {
  const fail = (msg: string, code = 1) => (process.stderr.write(`sluice bootstrap: ${msg}\n`), code);
  const [sub, ...args] = argv;
  if (sub === '--help' || sub === '-h' || sub === undefined) return process.stdout.write(`${usage}\n${networkUsage}`), sub ? 0 : 2;
  if (argv.some((a) => a === '--network' || a.startsWith('--network='))) return bootstrapNetworkCommand(argv);
  if (sub !== 'git') return fail(`unknown bootstrap target "${sub}": use \`sluice bootstrap git\` or \`sluice bootstrap --network network.yaml\`\n${usage}`, 2);
  let v;
  try {
    v = parseArgs({
      args,
      options: {
        ...clusterFlags,
        url: { type: 'string' },
        branch: { type: 'string', default: 'main' },
        path: { type: 'string' },
        namespace: { type: 'string', default: 'flux-system' },
        'secret-name': { type: 'string' },
        interval: { type: 'string', default: '1m0s' },
        'private-key-file': { type: 'string' },
        'ssh-hostkey': { type: 'string', multiple: true },
        'known-hosts-file': { type: 'string' },
        username: { type: 'string', short: 'u' },
        password: { type: 'string', short: 'p' },
        'password-stdin': { type: 'boolean', default: false },
        'password-file': { type: 'string' },
        'token-auth': { type: 'boolean', default: false },
        'ca-file': { type: 'string' },
        'author-name': { type: 'string', default: 'Sluice' },
        'author-email': { type: 'string', default: 'sluice@localhost' },
        'components-extra': { type: 'string', multiple: true },
        image: { type: 'string' },
        registry: { type: 'string' },
        timeout: { type: 'string', default: '5m' },
        yes: { type: 'boolean', short: 'y', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    return fail(`${(err as Error).message}\n${usage}`, 2);
  }
  if (v.help) return process.stdout.write(usage), 0;
  if (!v.url || !v.path) return fail(`--url and --path are required\n${usage}`, 2);
  if (v.password !== undefined) return fail('--password would put the secret on the command line (and in shell history, ps): use --password-stdin or --password-file', 2);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const version = sluiceVersion();
  try {
    const url = parseGitUrl(v.url);
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration(v.timeout);
    } catch (err) {
      return fail(`--timeout: ${(err as Error).message}`, 2);
    }
    let password: string | undefined;
    if (v['password-stdin']) password = await readStdin();
    else if (v['password-file']) password = (await readFile(v['password-file'], 'utf8').catch(() => { throw new CredentialError(`--password-file ${v['password-file']}: file not found`); })).replace(/\r?\n$/, '');
    let knownHosts: string | undefined;
    if (url.transport === 'ssh') {
      if (v['known-hosts-file']) knownHosts = await readFile(v['known-hosts-file'], 'utf8').catch(() => { throw new CredentialError(`--known-hosts-file ${v['known-hosts-file']}: file not found`); });
      else if (v['ssh-hostkey']?.length) knownHosts = v['ssh-hostkey'].join('\n');
      else {
        const scanned = await scanHostKeys(v.url);
        say(`► the host keys of ${url.sshHostPattern} are:`);
        for (const f of scanned.fingerprints) say(`  ${f}`);
        if (!v.yes && !(await confirm('trust them?'))) return fail('host keys not confirmed: compare the fingerprints with the server\'s and pass --yes, or give them with --ssh-hostkey or --known-hosts-file');
        knownHosts = scanned.knownHosts;
      }
    }
    const secret = await sourceSecretData({
      url: v.url,
      privateKeyFile: v['private-key-file'],
      keyPassword: url.transport === 'ssh' ? password : undefined,
      // Flux's --token-auth keeps --username (default git) with the token as password.
      username: v.username ?? (v['token-auth'] ? 'git' : undefined),
      password: url.transport === 'ssh' ? undefined : password,
      caFile: v['ca-file'],
      knownHosts,
    });
    for (const extra of (v['components-extra'] ?? []).flatMap((c) => c.split(',')).filter(Boolean)) {
      say(`! --components-extra ${extra}: not part of Sluice (Flux's image automation controllers are not implemented); skipped`);
    }
    const image = imageReference({ image: v.image, registry: v.registry, record: lastImageBuild(), version });
    if (image.warning) say(`! ${image.warning}`);
    const client = await clientFromFlags(v);
    try {
      say(`► cluster: context "${client.contextName}", API server ${client.server}`);
      if (!v.yes && !(await confirm(`bootstrap Sluice into this cluster?`))) {
        return fail('not confirmed: check the cluster above and pass --yes (or answer y on a terminal)');
      }
      await bootstrapGit({
        client,
        namespace: v.namespace,
        url: v.url,
        branch: v.branch,
        path: v.path,
        secretName: v['secret-name'] ?? v.namespace,
        interval: v.interval,
        secret,
        image: image.image,
        version,
        author: { name: v['author-name'], email: v['author-email'] },
        timeoutMs,
        say,
      });
      return 0;
    } finally {
      client.close();
    }
  } catch (err) {
    if (err instanceof BootstrapError || err instanceof CredentialError || err instanceof GitError) return fail(err.message);
    throw err;
  }
}
