// Flux's --feature-gates flag: comma-separated Name=true|false pairs over a
// table of known gates and their defaults. An unknown gate or a value other
// than true/false is refused, as Flux's controllers refuse it at start.

/** The gates Sluice knows, with Flux 2.9's defaults. */
export const FEATURE_GATES = {
  /** kustomize-controller: an unset ${VAR} without a default fails post-build substitution (on by default since v1.9). */
  StrictPostBuildSubstitutions: true,
} as const;

export type FeatureGate = keyof typeof FEATURE_GATES;
export type FeatureGates = Record<FeatureGate, boolean>;

/** The gates with `flag`'s settings over the defaults. */
export function parseFeatureGates(flag: string | undefined): FeatureGates {
  const gates: FeatureGates = { ...FEATURE_GATES };
  for (const part of (flag ?? '').split(',')) {
    const p = part.trim();
    if (!p) continue;
    const m = /^([A-Za-z0-9]+)=(true|false)$/i.exec(p);
    if (!m) throw new Error(`--feature-gates: ${JSON.stringify(p)} is not Name=true or Name=false`);
    const name = m[1]!;
    if (!Object.hasOwn(FEATURE_GATES, name)) {
      throw new Error(`--feature-gates: unknown feature gate ${JSON.stringify(name)} (known: ${Object.keys(FEATURE_GATES).join(', ')})`);
    }
    gates[name as FeatureGate] = m[2]!.toLowerCase() === 'true';
  }
  return gates;
}
