import { stat } from 'node:fs/promises';
import { parseManifests, readManifestDir, readManifestFile } from '../render/manifests.ts';
import type { KubeObject } from '../kube/object.ts';

/** Reads manifests from a directory, a file, or `-` (standard input). */
export async function readInput(source: string): Promise<KubeObject[]> {
  if (source === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return parseManifests(Buffer.concat(chunks).toString('utf8'), '<stdin>').map((m) => m.object as KubeObject);
  }
  const st = await stat(source).catch(() => undefined);
  if (!st) throw new Error(`${source}: no such file or directory`);
  const manifests = st.isDirectory() ? await readManifestDir(source) : await readManifestFile(source);
  return manifests.map((m) => m.object as KubeObject);
}
