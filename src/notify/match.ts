// Which Alerts an event goes to, and what it carries when it goes: pure
// functions over the event and the Alert, as Flux's event server decides.
import type { Alert } from '../api/alert.ts';
import type { FluxEvent } from '../runtime/eventsink.ts';
import { compileGoRegexp } from '../util/goregexp.ts';

/** The group of the event API, whose metadata keys the involved object's annotations become. */
export const EVENT_GROUP = 'event.toolkit.fluxcd.io';

/** The Alert's regular expressions that do not compile, each with why. */
export function invalidExpressions(alert: Alert): string[] {
  const out: string[] = [];
  for (const [field, list] of [['inclusionList', alert.spec.inclusionList], ['exclusionList', alert.spec.exclusionList]] as const) {
    for (const expr of list ?? []) {
      try {
        compileGoRegexp(expr);
      } catch (err) {
        out.push(`${field}: ${JSON.stringify(expr)}: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
      }
    }
  }
  return out;
}

/** Labels of the object an event is about, for sources with matchLabels; undefined when it cannot be read. */
export type LabelsOf = (kind: string, namespace: string, name: string) => Record<string, string> | undefined;

/**
 * Whether an Alert takes an event: not suspended, one of its sources names
 * the object (kind, namespace defaulting to the Alert's, name or `*`, labels),
 * the severity is at least the Alert's, the message matches the inclusion
 * list (when there is one) and no exclusion. Expressions that do not compile
 * match nothing (the Alert's status says so).
 */
export function alertTakes(alert: Alert, event: FluxEvent, labelsOf: LabelsOf): boolean {
  if (alert.spec.suspend) return false;
  const o = event.involvedObject;
  const severity = alert.spec.eventSeverity ?? 'info';
  if (severity === 'error' && event.severity !== 'error') return false;
  const sourceMatches = (alert.spec.eventSources ?? []).some((s) => {
    const ns = s.namespace ?? alert.metadata.namespace;
    if (o.kind !== s.kind || o.namespace !== ns) return false;
    if (s.name !== '*' && s.name !== o.name) return false;
    if (!s.matchLabels || !Object.keys(s.matchLabels).length) return true;
    const labels = labelsOf(o.kind, o.namespace ?? '', o.name);
    return !!labels && Object.entries(s.matchLabels).every(([k, v]) => labels[k] === v);
  });
  if (!sourceMatches) return false;
  const anyMatch = (list: string[]) =>
    list.some((expr) => {
      try {
        return compileGoRegexp(expr).test(event.message);
      } catch {
        return false;
      }
    });
  if (alert.spec.inclusionList?.length && !anyMatch(alert.spec.inclusionList)) return false;
  if (alert.spec.exclusionList?.length && anyMatch(alert.spec.exclusionList)) return false;
  return true;
}

/** The API group of an apiVersion (`kustomize.toolkit.fluxcd.io/v1` → `kustomize.toolkit.fluxcd.io`). */
export function groupOf(apiVersion: string | undefined): string {
  if (!apiVersion || !apiVersion.includes('/')) return '';
  return apiVersion.slice(0, apiVersion.indexOf('/'));
}

/**
 * The event as a Provider receives it, metadata merged as Flux does:
 * the object's event.toolkit.fluxcd.io/ annotations, then the Alert's
 * eventMetadata and summary, then the controller's own `<group>/` keys, each
 * with its prefix dropped; a later source wins. The object's commit-status
 * token (`<group>/token`) never leaves.
 * Returns the keys more than one source set, for a warning.
 */
export function eventForAlert(event: FluxEvent, alert: Alert): { event: FluxEvent; conflicts: string[] } {
  const group = groupOf(event.involvedObject.apiVersion);
  const sources = new Map<string, number>();
  const metadata: Record<string, string> = {};
  const put = (k: string, v: string) => {
    metadata[k] = v;
    sources.set(k, (sources.get(k) ?? 0) + 1);
  };
  const meta = { ...event.metadata };
  if (group) delete meta[`${group}/token`];
  for (const [k, v] of Object.entries(meta)) if (k.startsWith(`${EVENT_GROUP}/`)) put(k.slice(EVENT_GROUP.length + 1), v);
  for (const [k, v] of Object.entries(alert.spec.eventMetadata ?? {})) put(k, v);
  if (alert.spec.summary) put('summary', alert.spec.summary);
  if (group) for (const [k, v] of Object.entries(meta)) if (k.startsWith(`${group}/`)) put(k.slice(group.length + 1), v);
  const conflicts = [...sources].filter(([, n]) => n > 1).map(([k]) => k).sort();
  const out: FluxEvent = { ...event };
  if (Object.keys(metadata).length) out.metadata = metadata;
  else delete out.metadata;
  return { event: out, conflicts };
}
