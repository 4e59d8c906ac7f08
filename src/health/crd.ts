// apiextensions.k8s.io/v1 CustomResourceDefinition.
import type { HealthResult, KubeObject } from './types.ts';
import { conditionsOf, current, explain, failed, findCondition, inProgress, withDetail } from './util.ts';

export function crdHealth(obj: KubeObject): HealthResult {
  const conditions = conditionsOf(obj);
  const names = findCondition(conditions, 'NamesAccepted');
  if (names?.status === 'False') {
    return failed(withDetail('CustomResourceDefinition names were not accepted', explain(names)), names.reason || 'NamesNotAccepted');
  }
  const established = findCondition(conditions, 'Established');
  if (established?.status === 'True') return current('CustomResourceDefinition is established', 'Established');
  // "Installing" is the normal state right after creation; any other reason
  // for Established=False is an error.
  if (established?.status === 'False' && established.reason !== 'Installing') {
    return failed(
      withDetail('CustomResourceDefinition could not be established', explain(established)),
      established.reason || 'NotEstablished',
    );
  }
  return inProgress(
    withDetail('CustomResourceDefinition is being established', explain(established)),
    'Installing',
  );
}
