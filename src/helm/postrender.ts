import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PostRendererRef } from './actions.ts';
import { stringify } from 'yaml';

/** A post-renderer of a HelmRelease (Flux's kustomize patches and images). */
export interface KustomizePostRenderer {
  patches?: Array<{ patch: string; target?: Record<string, string | undefined> }>;
  patchesStrategicMerge?: Array<Record<string, unknown>>;
  patchesJson6902?: Array<{ target: Record<string, string | undefined>; patch: unknown[] }>;
  images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>;
}

export interface PostRenderOptions {
  /** Path of the kustomize binary. */
  kustomize: string;
  /** Scratch directory for this one helm action. */
  dir: string;
  postRenderers: Array<{ kustomize?: KustomizePostRenderer }>;
  /** Labels on every rendered object (Flux's origin labels, and commonMetadata). */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function stage(pr: KustomizePostRenderer): Record<string, unknown> {
  const patches: Array<Record<string, unknown>> = [];
  for (const p of pr.patches ?? []) patches.push(p.target ? { patch: p.patch, target: clean(p.target) } : { patch: p.patch });
  for (const p of pr.patchesStrategicMerge ?? []) patches.push({ patch: stringify(p) });
  for (const p of pr.patchesJson6902 ?? []) patches.push({ patch: JSON.stringify(p.patch), target: clean(p.target) });
  const k: Record<string, unknown> = {};
  if (patches.length) k.patches = patches;
  if (pr.images?.length) k.images = pr.images;
  return k;
}

function clean(o: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as Record<string, string>;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Writes a post-renderer for helm: a shell script that runs the rendered
 * manifests through one `kustomize build` per stage (each post-renderer in
 * order, then the labels and annotations every object gets), as
 * helm-controller's kustomize post-renderer does.
 */
export async function writePostRenderer(o: PostRenderOptions): Promise<PostRendererRef | undefined> {
  const stages: Array<Record<string, unknown>> = o.postRenderers.filter((p) => p.kustomize).map((p) => stage(p.kustomize!));
  const meta: Record<string, unknown> = {};
  if (o.labels && Object.keys(o.labels).length) meta.labels = [{ pairs: o.labels, includeSelectors: false, includeTemplates: false }];
  if (o.annotations && Object.keys(o.annotations).length) meta.commonAnnotations = o.annotations;
  if (Object.keys(meta).length) stages.push(meta);
  const active = stages.filter((s) => Object.keys(s).length);
  if (!active.length) return undefined;
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  const lines = ['#!/bin/sh', 'set -eu', `K=${q(o.kustomize)}`, `D=${q(o.dir)}`, 'cat > "$D/s0/input.yaml"'];
  // Nothing rendered (a chart of hooks only): nothing to transform.
  lines.push(`if ! grep -v '^#' "$D/s0/input.yaml" | grep -q '[^-[:space:]]'; then cat "$D/s0/input.yaml"; exit 0; fi`);
  for (const [i, s] of active.entries()) {
    await mkdir(join(o.dir, `s${i}`), { recursive: true });
    await writeFile(
      join(o.dir, `s${i}`, 'kustomization.yaml'),
      stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['input.yaml'], ...s }),
    );
    const last = i === active.length - 1;
    lines.push(last ? `"$K" build "$D/s${i}"` : `"$K" build "$D/s${i}" > "$D/s${i + 1}/input.yaml"`);
  }
  const script = join(o.dir, 'post-render.sh');
  await writeFile(script, `${lines.join('\n')}\n`);
  await chmod(script, 0o700);
  return { path: script };
}
