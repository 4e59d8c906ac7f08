// `sluice check [--pre]`: Flux's `flux check` for Sluice (src/install/check.ts).
import { passed, runCheck, type Verdict } from '../install/check.ts';
import { sluiceVersion } from '../util/paths.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { startVerb } from './verb.ts';

const usage = `usage: sluice check [--pre] [flags]
Checks the cluster's Kubernetes version; without --pre also each Sluice
installation's controller (rolled out, image, version against this CLI) and
the CRDs (established, stored version). Exit 0 when every check passed, 1 when
one failed; version skew and Flux controllers beside Sluice are warnings.
  --pre                  only the prerequisites, before an install
  -n, --namespace NS     only the installation in NS (default: every one)
  --kubeconfig FILE  --context NAME
examples:
  sluice check --pre
  sluice check -n flux-dev
`;

const marks: Record<Verdict, string> = { ok: '✔', info: '►', warn: '!', fail: '✗' };

export async function checkCommand(args: string[]): Promise<number> {
  const { values: v, positionals, help, fail } = startVerb('check', usage, args, { ...clusterFlags, pre: { type: 'boolean', default: false }, namespace: { type: 'string', short: 'n' } });
  if (help !== undefined) return help;
  if (positionals.length) return fail(`unexpected ${positionals.join(' ')}`);
  const client = await clientFromFlags(v);
  try {
    const sections = await runCheck({ client, version: sluiceVersion(), pre: v.pre, namespace: v.namespace });
    for (const s of sections) {
      process.stdout.write(`► ${s.title}\n`);
      for (const f of s.findings) process.stdout.write(`${marks[f.verdict]} ${f.message}\n`);
    }
    const ok = passed(sections);
    process.stdout.write(ok ? (v.pre ? '✔ prerequisites checks passed\n' : '✔ all checks passed\n') : '✗ check failed\n');
    return ok ? 0 : 1;
  } finally {
    client.close();
  }
}
