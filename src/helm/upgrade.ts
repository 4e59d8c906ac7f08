import { flag, helmDuration, type HelmCli, type HelmTarget } from './cli.ts';
import { labelArgs, postRendererArgs, valuesFile, type PostRendererRef } from './install.ts';
import type { HelmReleaseRecord } from './release.ts';

export interface UpgradeRequest {
  target: HelmTarget;
  name: string;
  namespace: string;
  chart: string;
  values: Record<string, unknown>;
  timeoutMs: number;
  /** Revisions helm keeps; 0 is unlimited. */
  historyMax: number;
  /** Reuse the last release's values and merge these over them (upgrade.preserveValues). */
  reuseValues?: boolean;
  force?: boolean;
  cleanupOnFail?: boolean;
  noHooks?: boolean;
  disableOpenAPIValidation?: boolean;
  skipSchemaValidation?: boolean;
  takeOwnership?: boolean;
  postRenderer?: PostRendererRef;
  labels?: Record<string, string>;
  description?: string;
  signal?: AbortSignal;
}

/** `helm upgrade` (never --install): returns the new release (-o json). */
export async function upgradeRelease(cli: HelmCli, r: UpgradeRequest): Promise<HelmReleaseRecord> {
  const out = await cli.run(
    [
      'upgrade',
      r.name,
      r.chart,
      '--values',
      '@file:values.yaml',
      r.reuseValues ? '--reuse-values' : '--reset-values',
      '--history-max',
      String(r.historyMax),
      '--timeout',
      helmDuration(r.timeoutMs),
      '--output',
      'json',
      ...flag(r.force, '--force'),
      ...flag(r.cleanupOnFail, '--cleanup-on-fail'),
      ...flag(r.noHooks, '--no-hooks'),
      ...flag(r.disableOpenAPIValidation, '--disable-openapi-validation'),
      ...flag(r.skipSchemaValidation, '--skip-schema-validation'),
      ...flag(r.takeOwnership, '--take-ownership'),
      ...postRendererArgs(r.postRenderer),
      ...labelArgs(r.labels),
      ...(r.description ? ['--description', r.description] : []),
    ],
    { target: r.target, namespace: r.namespace, files: valuesFile(r.values), timeoutMs: r.timeoutMs + 60_000, signal: r.signal },
  );
  return JSON.parse(out) as HelmReleaseRecord;
}
