// The HelmChart object type where the HelmRelease controller looks for it;
// the HelmChart source itself is in ../helmchart/.
export type { HelmChart } from '../helmchart/reconcile.ts';
