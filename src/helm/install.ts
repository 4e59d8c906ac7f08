import { flag, helmDuration, type HelmCli, type HelmTarget } from './cli.ts';
import type { HelmReleaseRecord } from './release.ts';

export interface PostRendererRef {
  /** Executable helm runs with the rendered manifests on stdin. */
  path: string;
  args?: string[];
}

export interface InstallRequest {
  target: HelmTarget;
  name: string;
  namespace: string;
  /** Chart directory or .tgz. */
  chart: string;
  values: Record<string, unknown>;
  timeoutMs: number;
  createNamespace?: boolean;
  skipCrds?: boolean;
  noHooks?: boolean;
  replace?: boolean;
  disableOpenAPIValidation?: boolean;
  skipSchemaValidation?: boolean;
  takeOwnership?: boolean;
  postRenderer?: PostRendererRef;
  /** Labels stored on the release (its storage Secret). */
  labels?: Record<string, string>;
  description?: string;
  signal?: AbortSignal;
}

/**
 * Values go through a private 0600 file: they may hold secrets. JSON, not
 * YAML, so helm's YAML 1.1 reader cannot retype strings such as "yes".
 */
export function valuesFile(values: Record<string, unknown>): Record<string, string> {
  return { 'values.yaml': JSON.stringify(values ?? {}) };
}

export function labelArgs(labels: Record<string, string> | undefined): string[] {
  const pairs = Object.entries(labels ?? {});
  return pairs.length ? ['--labels', pairs.map(([k, v]) => `${k}=${v}`).join(',')] : [];
}

export function postRendererArgs(p: PostRendererRef | undefined): string[] {
  if (!p) return [];
  return ['--post-renderer', p.path, ...(p.args ?? []).flatMap((a) => ['--post-renderer-args', a])];
}

/** `helm install`: returns the release helm reports (-o json). */
export async function installRelease(cli: HelmCli, r: InstallRequest): Promise<HelmReleaseRecord> {
  const out = await cli.run(
    [
      'install',
      r.name,
      r.chart,
      '--values',
      '@file:values.yaml',
      '--timeout',
      helmDuration(r.timeoutMs),
      '--output',
      'json',
      ...flag(r.createNamespace, '--create-namespace'),
      ...flag(r.skipCrds, '--skip-crds'),
      ...flag(r.noHooks, '--no-hooks'),
      ...flag(r.replace, '--replace'),
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
