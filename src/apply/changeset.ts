export type Action = 'created' | 'configured' | 'unchanged' | 'deleted' | 'skipped' | 'recreated';

export interface ChangeSetEntry {
  /** `Kind/namespace/name` or `Kind/name`. */
  subject: string;
  /** Flux inventory id: `<namespace>_<name>_<group>_<kind>`. */
  id: string;
  /** apiVersion's version part, as Flux's inventory records it. */
  version: string;
  action: Action;
  /** Why an object was skipped, or what a recreate replaced. */
  reason?: string;
  /**
   * metadata.generation the apply produced (created, configured, recreated):
   * a wait reading a cache that has not seen it yet must not take the
   * object's previous, already observed state for this one.
   */
  generation?: number;
}

/** One line per object, as a person wants it in a log: `Deployment/apps/web configured`. */
export function formatEntry(e: ChangeSetEntry): string {
  return `${e.subject} ${e.action}${e.reason ? ` (${e.reason})` : ''}`;
}

export function formatChangeSet(entries: ChangeSetEntry[]): string {
  return entries.map(formatEntry).join('\n');
}

/** Counts per action, e.g. for a summary or a metric. */
export function summarize(entries: ChangeSetEntry[]): Partial<Record<Action, number>> {
  const out: Partial<Record<Action, number>> = {};
  for (const e of entries) out[e.action] = (out[e.action] ?? 0) + 1;
  return out;
}

/** True when the set changed anything in the cluster. */
export function hasChanges(entries: ChangeSetEntry[]): boolean {
  return entries.some((e) => e.action !== 'unchanged' && e.action !== 'skipped');
}
