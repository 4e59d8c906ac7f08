// What of an object the browser may see. Secrets never reach the page:
// values of post-build substitution, patch bodies (they may set a Secret's
// data), and every string under a key that names a secret (password, token,
// ...) are replaced, managed fields and kubectl's last-applied copy are
// dropped. Pure.
import type { KubeObject } from '../kube/object.ts';

export const HIDDEN = '(hidden)';

/** Keys whose string values are taken for secrets wherever they appear. */
const SECRET_KEY = /pass(word|wd|phrase)?|secret|token|credential|private.?key|api.?key|access.?key|^auth$|authorization|cert.?key|\bkey$|^key$|sshkey|identity|bearer|cookie|dockerconfig/i;
/** Keys that only name or refer to something: their values are kept. */
const REFERENCE_KEY = /Ref$|Refs$|^name$|^kind$|^namespace$/;

function scrub(value: unknown, key: string): unknown {
  if (Array.isArray(value)) return value.map((v) => scrub(v, key));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = REFERENCE_KEY.test(k) ? v : scrub(v, k);
    return out;
  }
  if (typeof value === 'string' && SECRET_KEY.test(key)) return HIDDEN;
  return value;
}

/** Replaces every leaf of an object with HIDDEN, keeping its keys (which values exist, not what they are). */
function hideValues(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hideValues);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, hideValues(v)]));
  return HIDDEN;
}

/** A copy of a Flux object that is safe to send to the browser. */
export function redactObject(o: KubeObject): KubeObject {
  const copy = structuredClone(o) as KubeObject;
  const md = copy.metadata;
  delete md.managedFields;
  if (md.annotations) {
    const a = { ...md.annotations };
    delete a['kubectl.kubernetes.io/last-applied-configuration'];
    md.annotations = a;
  }
  const spec = (copy.spec ?? {}) as Record<string, any>;
  if (spec.postBuild?.substitute) spec.postBuild.substitute = hideValues(spec.postBuild.substitute);
  if (Array.isArray(spec.patches)) spec.patches = spec.patches.map((p: Record<string, unknown>) => ({ ...p, patch: p.patch === undefined ? undefined : HIDDEN }));
  for (const k of ['patchesStrategicMerge', 'patchesJson6902']) if (spec[k] !== undefined) spec[k] = HIDDEN;
  // Inline Helm values may hold anything a chart takes; only secret-looking keys are hidden, the rest is the release's configuration.
  copy.spec = scrub(spec, '') as Record<string, unknown>;
  if (copy.status) copy.status = scrub(copy.status, '') as Record<string, unknown>;
  delete (copy as Record<string, unknown>).data;
  delete (copy as Record<string, unknown>).stringData;
  return copy;
}
