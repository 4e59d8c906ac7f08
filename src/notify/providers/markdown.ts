// The Markdown post Flux's Zulip and change-request comment types share:
// a heading, the object, the message and the metadata as a sorted list
// (the change_request key left out: it is where the comment goes, not news).
import type { FluxEvent } from '../../runtime/eventsink.ts';

export const CHANGE_REQUEST_KEY = 'change_request';

export function markdownPost(e: FluxEvent): string {
  const o = e.involvedObject;
  const meta = Object.entries(e.metadata ?? {})
    .filter(([k]) => k !== CHANGE_REQUEST_KEY)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `* \`${k}\`: ${v}\n`)
    .join('');
  return `## Flux Status\n\n${e.severity === 'error' ? '⚠️' : 'ℹ️'} ${o.kind}/${o.namespace ?? ''}/${o.name}\n\n${e.message}\n\nMetadata:\n${meta}`;
}
