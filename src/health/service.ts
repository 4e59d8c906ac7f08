// v1 Service.
import type { HealthResult, KubeObject } from './types.ts';
import { current, getPath, getString, inProgress, isRecord } from './util.ts';

export function serviceHealth(obj: KubeObject): HealthResult {
  const type = getString(obj, ['spec', 'type'], 'ClusterIP');
  if (type !== 'LoadBalancer') return current(`Service is ready (type ${type})`, 'ServiceReady');

  const ingress = getPath(obj, ['status', 'loadBalancer', 'ingress']);
  const addresses = Array.isArray(ingress)
    ? ingress.filter(isRecord).map((i) => (typeof i.ip === 'string' && i.ip) || (typeof i.hostname === 'string' && i.hostname) || '')
    : [];
  if (addresses.length === 0) {
    return inProgress('Service is waiting for a load balancer to be provisioned (no ingress in status.loadBalancer)', 'NoIngress');
  }
  const named = addresses.filter((a) => a !== '');
  return current(
    named.length ? `Service load balancer is ready at ${named.join(', ')}` : 'Service load balancer is ready',
    'LoadBalancerReady',
  );
}
