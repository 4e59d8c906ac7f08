import { crdFor, type KindDefinition } from './schema.ts';
import { gitRepositoryKind } from './gitrepository.ts';
import { kustomizationKind } from './kustomization.ts';

/** Every kind Sluice serves, in the order their CRDs are installed. */
export const kinds: KindDefinition[] = [gitRepositoryKind, kustomizationKind];

export function allCrds(): Array<Record<string, unknown>> {
  return kinds.map(crdFor);
}
