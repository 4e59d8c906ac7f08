// v1 Pod.
import type { HealthResult, KubeObject } from './types.ts';
import {
  conditionsOf, current, failed, findCondition, getString, inProgress, isRecord, unknown, withDetail,
} from './util.ts';

// Waiting reasons that will not clear up without a change to the pod:
// CrashLoopBackOff (as kstatus) and an image reference that cannot be parsed.
// ImagePullBackOff and CreateContainerConfigError are not here: the image or
// the Secret/ConfigMap may still appear (often applied in the same batch).
const HOPELESS_WAITING_REASONS = new Set(['CrashLoopBackOff', 'InvalidImageName']);

interface ContainerState {
  name: string;
  init: boolean;
  ready: boolean;
  waitingReason: string;
  waitingMessage: string;
  terminatedReason: string;
  exitCode: number | undefined;
}

function containerStates(obj: KubeObject): ContainerState[] {
  const out: ContainerState[] = [];
  for (const [field, init] of [['initContainerStatuses', true], ['containerStatuses', false]] as const) {
    const list = obj.status?.[field];
    if (!Array.isArray(list)) continue;
    for (const cs of list) {
      if (!isRecord(cs) || typeof cs.name !== 'string') continue;
      const state = isRecord(cs.state) ? cs.state : {};
      const waiting = isRecord(state.waiting) ? state.waiting : {};
      const terminated = isRecord(state.terminated) ? state.terminated : {};
      out.push({
        name: cs.name,
        init,
        ready: cs.ready === true,
        waitingReason: typeof waiting.reason === 'string' ? waiting.reason : '',
        waitingMessage: typeof waiting.message === 'string' ? waiting.message : '',
        terminatedReason: typeof terminated.reason === 'string' ? terminated.reason : '',
        exitCode: typeof terminated.exitCode === 'number' ? terminated.exitCode : undefined,
      });
    }
  }
  return out;
}

function label(c: ContainerState): string {
  return c.init ? `init container ${c.name}` : `container ${c.name}`;
}

/** "container app: CrashLoopBackOff (back-off 5m0s ...)", for every waiting container. */
function waitingSummary(states: ContainerState[], only?: (c: ContainerState) => boolean): string {
  return states
    .filter((c) => c.waitingReason !== '' && (!only || only(c)))
    .map((c) => `${label(c)}: ${c.waitingReason}${c.waitingMessage ? ` (${c.waitingMessage})` : ''}`)
    .join('; ');
}

export function podHealth(obj: KubeObject): HealthResult {
  const phase = getString(obj, ['status', 'phase']);
  const conditions = conditionsOf(obj);
  const states = containerStates(obj);

  switch (phase) {
    case 'Succeeded':
      return current('Pod completed successfully', 'PodSucceeded');
    case 'Failed': {
      const reason = getString(obj, ['status', 'reason']);
      const message = getString(obj, ['status', 'message']).trim();
      let detail = [reason, message].filter((s) => s !== '').join(': ');
      if (!detail) {
        detail = states
          .filter((c) => c.exitCode !== undefined && c.exitCode !== 0)
          .map((c) => `${label(c)} exited with code ${c.exitCode}${c.terminatedReason ? ` (${c.terminatedReason})` : ''}`)
          .join('; ');
      }
      return failed(withDetail('Pod failed', detail), reason || 'PodFailed');
    }
    case 'Running':
    case 'Pending': {
      if (phase === 'Running' && findCondition(conditions, 'Ready')?.status === 'True') {
        return current('Pod is running and ready', 'PodReady');
      }
      const hopeless = waitingSummary(states, (c) => HOPELESS_WAITING_REASONS.has(c.waitingReason));
      if (hopeless) {
        const crashLoop = states.some((c) => c.waitingReason === 'CrashLoopBackOff');
        return failed(`Pod cannot start: ${hopeless}`, crashLoop ? 'ContainerCrashLooping' : 'InvalidImageName');
      }
      if (phase === 'Running') {
        const readyCond = findCondition(conditions, 'Ready');
        const detail = waitingSummary(states) || readyCond?.message.trim() || '';
        return inProgress(withDetail('Pod is running but not ready', detail), 'PodRunningNotReady');
      }
      const scheduled = findCondition(conditions, 'PodScheduled');
      if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
        return inProgress(withDetail('Pod is unschedulable', scheduled.message.trim()), 'Unschedulable');
      }
      return inProgress(withDetail('Pod is pending', waitingSummary(states)), 'PodPending');
    }
    case '':
      return inProgress('Pod has not been observed by a node or the scheduler yet (no phase)', 'PodNotObserved');
    default:
      // "Unknown": the node stopped reporting on the pod.
      return unknown(`Pod phase is ${phase}: its node may be unreachable`, 'PodPhaseUnknown');
  }
}
