import type { HelmCli, HelmTarget } from '../../../src/tools/helmcli.ts';

/** `helm get values -o json`: the user-supplied values of a revision (the latest by default). */
export async function getValues(
  cli: HelmCli,
  target: HelmTarget,
  namespace: string,
  name: string,
  opts: { revision?: number; all?: boolean } = {},
): Promise<Record<string, unknown>> {
  const args = ['get', 'values', name, '--output', 'json'];
  if (opts.revision) args.push('--revision', String(opts.revision));
  if (opts.all) args.push('--all');
  const v = JSON.parse(await cli.run(args, { target, namespace })) as Record<string, unknown> | null;
  return v ?? {};
}
