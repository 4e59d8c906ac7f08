import { flag, helmDuration, type HelmCli, type HelmTarget } from './cli.ts';

export interface UninstallRequest {
  target: HelmTarget;
  name: string;
  namespace: string;
  timeoutMs: number;
  keepHistory?: boolean;
  noHooks?: boolean;
  /** Wait until the release's objects are gone. */
  wait?: boolean;
  cascade?: 'background' | 'foreground' | 'orphan';
  signal?: AbortSignal;
}

/** `helm uninstall`; a release that is already gone is not an error. */
export async function uninstallRelease(cli: HelmCli, r: UninstallRequest): Promise<void> {
  await cli.run(
    [
      'uninstall',
      r.name,
      '--ignore-not-found',
      '--timeout',
      helmDuration(r.timeoutMs),
      '--cascade',
      r.cascade ?? 'background',
      ...flag(r.keepHistory, '--keep-history'),
      ...flag(r.noHooks, '--no-hooks'),
      ...flag(r.wait, '--wait'),
    ],
    { target: r.target, namespace: r.namespace, timeoutMs: r.timeoutMs + 60_000, signal: r.signal },
  );
}
