// Health of applied Kubernetes objects, following kstatus
// (kubernetes-sigs/cli-utils pkg/kstatus/status). Every rule is a pure
// function of the object: no clock, no API calls.
import type { HealthResult, KubeObject } from './types.ts';
import { genericHealth, readyConditionHealth } from './generic.ts';
import { deploymentHealth } from './deployment.ts';
import { statefulSetHealth } from './statefulset.ts';
import { daemonSetHealth } from './daemonset.ts';
import { replicaSetHealth } from './replicaset.ts';
import { jobHealth } from './job.ts';
import { podHealth } from './pod.ts';
import { pvcHealth } from './pvc.ts';
import { serviceHealth } from './service.ts';
import { crdHealth } from './crd.ts';
import { pdbHealth } from './pdb.ts';
import { apiGroup, isRecord, unknown } from './util.ts';

export type { HealthResult, HealthStatus, KubeObject, ObjectMeta, Condition } from './types.ts';

type Rule = (obj: KubeObject) => HealthResult;

/** Rules by "group/Kind"; the core group is written without a slash. */
const rules = new Map<string, Rule>([
  ['Pod', podHealth],
  ['Service', serviceHealth],
  ['PersistentVolumeClaim', pvcHealth],
  ['apps/Deployment', deploymentHealth],
  ['extensions/Deployment', deploymentHealth],
  ['apps/StatefulSet', statefulSetHealth],
  ['apps/DaemonSet', daemonSetHealth],
  ['extensions/DaemonSet', daemonSetHealth],
  ['apps/ReplicaSet', replicaSetHealth],
  ['extensions/ReplicaSet', replicaSetHealth],
  ['batch/Job', jobHealth],
  ['apiextensions.k8s.io/CustomResourceDefinition', crdHealth],
  ['policy/PodDisruptionBudget', pdbHealth],
]);

function ruleKey(group: string, kind: string): string {
  return group === '' ? kind : `${group}/${kind}`;
}

/**
 * The health of one object as read from the cluster (with its status).
 * Never throws: input that is not a Kubernetes object gives Unknown.
 */
export function computeHealth(obj: KubeObject): HealthResult {
  const raw: unknown = obj;
  if (!isRecord(raw) || typeof raw.apiVersion !== 'string' || typeof raw.kind !== 'string' || !isRecord(raw.metadata)) {
    return unknown('Not a Kubernetes object: apiVersion, kind or metadata is missing', 'InvalidObject');
  }
  try {
    const generic = genericHealth(obj);
    if (generic) return generic;
    const group = apiGroup(obj.apiVersion);
    const rule = rules.get(ruleKey(group, obj.kind));
    return rule ? rule(obj) : readyConditionHealth(obj, group);
  } catch (err) {
    return unknown(`Could not compute the health of ${obj.kind}: ${(err as Error).message}`, 'Error');
  }
}
