// v1 PersistentVolumeClaim.
import type { HealthResult, KubeObject } from './types.ts';
import { current, failed, getString, inProgress } from './util.ts';

export function pvcHealth(obj: KubeObject): HealthResult {
  const phase = getString(obj, ['status', 'phase']);
  const volume = getString(obj, ['spec', 'volumeName']);
  if (phase === 'Bound') {
    return current(`PersistentVolumeClaim is bound${volume ? ` to volume ${volume}` : ''}`, 'Bound');
  }
  // Lost: the bound volume is gone; the claim will never be usable again.
  if (phase === 'Lost') {
    return failed(`PersistentVolumeClaim lost its volume${volume ? ` ${volume}` : ''}`, 'Lost');
  }
  return inProgress(
    `PersistentVolumeClaim is not bound yet (${phase ? `phase ${phase}` : 'no phase reported'})`,
    'NotBound',
  );
}
