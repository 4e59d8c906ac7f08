// batch/v1 Job. Unlike kstatus, a Job that is still running is InProgress:
// whoever waits for a Job (a migration, a seed) wants it finished.
import type { HealthResult, KubeObject } from './types.ts';
import {
  conditionsOf, current, explain, failed, getInt, getOptionalInt, getPath, getString, inProgress, withDetail,
} from './util.ts';

export function jobHealth(obj: KubeObject): HealthResult {
  const conditions = conditionsOf(obj);
  const isTrue = (type: string) => conditions.find((c) => c.type === type && c.status === 'True');

  const succeeded = getInt(obj, ['status', 'succeeded'], 0);
  const active = getInt(obj, ['status', 'active'], 0);
  const failedPods = getInt(obj, ['status', 'failed'], 0);
  const completions = getOptionalInt(obj, ['spec', 'completions']);
  const succeededText = completions === undefined ? `${succeeded} succeeded` : `${succeeded} of ${completions} succeeded`;

  // FailureTarget is set (Kubernetes 1.31+) as soon as the Job is doomed,
  // before its remaining pods are gone and Failed is set.
  const failure = isTrue('Failed') ?? isTrue('FailureTarget');
  if (failure) {
    return failed(withDetail('Job failed', explain(failure)), failure.reason || 'JobFailed');
  }
  const complete = isTrue('Complete') ?? isTrue('SuccessCriteriaMet');
  if (complete) {
    return current(`Job completed: ${succeededText}`, 'Complete');
  }
  if (isTrue('Suspended') || getPath(obj, ['spec', 'suspend']) === true) {
    return current('Job is suspended', 'Suspended');
  }
  if (getString(obj, ['status', 'startTime']) === '') {
    return inProgress('Job has not started yet', 'JobNotStarted');
  }
  return inProgress(`Job is running: ${active} active, ${succeededText}, ${failedPods} failed`, 'JobRunning');
}
