import { crdFor, type KindDefinition } from './schema.ts';
import { gitRepositoryKind } from './gitrepository.ts';
import { kustomizationKind } from './kustomization.ts';
import { helmRepositoryKind } from './helmrepository.ts';
import { helmChartKind } from './helmchart.ts';
import { helmReleaseKind } from './helmrelease.ts';
import { ociRepositoryKind } from './ocirepository.ts';
import { externalArtifactKind } from './externalartifact.ts';
import { bucketKind } from './bucket.ts';

/** Every kind Sluice serves, in the order their CRDs are installed. */
export const kinds: KindDefinition[] = [gitRepositoryKind, kustomizationKind, helmRepositoryKind, helmChartKind, ociRepositoryKind, helmReleaseKind, externalArtifactKind, bucketKind];

export function allCrds(): Array<Record<string, unknown>> {
  return kinds.map(crdFor);
}
