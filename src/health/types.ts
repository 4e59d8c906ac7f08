// Types shared by the health rules. The statuses are kstatus's: a rule
// reports whether an object has reached the state its spec asks for.

/**
 * - Current: the object is fully reconciled and ready.
 * - InProgress: the object is still moving towards its desired state.
 * - Failed: the object is stuck and will not get there without a change.
 * - Terminating: the object is being deleted.
 * - NotFound: the object does not exist (reported by callers that look it up;
 *   the pure rules here never produce it).
 * - Unknown: the status could not be worked out.
 */
export type HealthStatus = 'InProgress' | 'Failed' | 'Current' | 'Terminating' | 'NotFound' | 'Unknown';

export interface HealthResult {
  status: HealthStatus;
  /** A sentence for a person, e.g. "Deployment does not have minimum availability: 1 of 2 replicas available". */
  message: string;
  /** A short CamelCase reason, e.g. "LessAvailable" or "ProgressDeadlineExceeded". */
  reason?: string;
}

// Objects are typed once for the whole project.
export type { KubeObject, ObjectMeta } from '../kube/object.ts';

/** A status condition as found in `.status.conditions`, with missing fields read as ''. */
export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
