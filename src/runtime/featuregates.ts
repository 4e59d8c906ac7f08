// Flux's feature gates (`--feature-gates=Name=true,Other=false`), for the one
// Sluice process that stands in for source-, kustomize- and helm-controller.
// Flux keeps a table per controller; a gate of the same name in two of them
// means the same thing in both, so one table serves here. A Flux deployment's
// flags must start Sluice unchanged, so every gate Flux 2.9 knows is accepted;
// the ones whose behaviour Sluice does not have (or always has) are listed
// with why, and the controller logs that once at start.

export interface FeatureGate {
  /** Flux 2.9's default. */
  default: boolean;
  /** Set when the gate changes nothing in Sluice: the reason, logged when the gate is set. */
  inert?: string;
}

export const FEATURE_GATES: Record<string, FeatureGate> = {
  // kustomize-controller v1.9
  StrictPostBuildSubstitutions: { default: true },
  CancelHealthCheckOnNewRevision: { default: false, inert: 'Sluice always cancels a health check when a new revision arrives' },
  AdditiveCELDependencyCheck: { default: false },
  DisableConfigWatchers: { default: false },
  DisableFailFastBehavior: { default: false },
  CacheSecretsAndConfigMaps: { default: false, inert: 'Sluice reads Secrets and ConfigMaps when it needs them and caches only what it watches' },
  DisableStatusPollerCache: { default: true, inert: 'Sluice has no status poller cache: health is read from its own watches' },
  GroupChangeLog: { default: false, inert: 'Sluice logs one line per apply with counts, not one per object' },
  ExternalArtifact: { default: false },
  DirectSourceFetch: { default: false, inert: 'Sluice always reads sources from its own caches, which are current' },
  MigrateAPIVersion: { default: false, inert: 'Sluice applies with the API version of each manifest as it is' },
  DisableCommitStatusEvent: { default: false, inert: 'Sluice sends no commit-status events yet' },
  // helm-controller v1.6
  UseHelm3Defaults: { default: false },
  DefaultToRetryOnFailure: { default: false },
  DisableChartDigestTracking: { default: false, inert: 'Sluice tracks the chart by version and digest always' },
  AllowDNSLookups: { default: false, inert: "Sluice's helm driver renders with DNS lookups off" },
  OOMWatch: { default: false, inert: 'Sluice runs helm in a separate driver process, whose memory it bounds itself' },
  AdoptLegacyReleases: { default: false, inert: 'ignored by Flux since helm-controller v1.5 too' },
  DetectDrift: { default: false, inert: 'deprecated by Flux: drift detection is set per HelmRelease (spec.driftDetection)' },
  CorrectDrift: { default: false, inert: 'deprecated by Flux: drift correction is set per HelmRelease (spec.driftDetection)' },
  // Flux's pkg/auth, read by several controllers
  ObjectLevelWorkloadIdentity: { default: false, inert: 'Sluice has no cloud workload identity' },
};

export type FeatureGates = Readonly<Record<string, boolean>>;

/**
 * Parses `--feature-gates` values (each `Name=true,Other=false`; a gate given
 * twice takes the last) over Flux's defaults. An unknown name or a value other
 * than true/false is an error that names it, as Flux refuses to start then too.
 */
export function parseFeatureGates(values: string[]): FeatureGates {
  const gates: Record<string, boolean> = Object.fromEntries(Object.entries(FEATURE_GATES).map(([k, g]) => [k, g.default]));
  for (const value of values) {
    for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
      const [name, raw] = part.split('=', 2).map((s) => s.trim()) as [string, string | undefined];
      if (!(name in FEATURE_GATES)) {
        throw new Error(`--feature-gates: unknown feature gate "${name}" (known: ${Object.keys(FEATURE_GATES).sort().join(', ')})`);
      }
      if (raw === undefined || !/^(true|false)$/i.test(raw)) throw new Error(`--feature-gates: ${name} needs =true or =false, got "${part}"`);
      gates[name] = raw.toLowerCase() === 'true';
    }
  }
  return gates;
}

/** The gates set away from their defaults that change nothing in Sluice, with why. */
export function inertGates(gates: FeatureGates): Array<{ gate: string; reason: string }> {
  return Object.entries(FEATURE_GATES)
    .filter(([name, g]) => g.inert && gates[name] !== g.default)
    .map(([gate, g]) => ({ gate, reason: g.inert! }));
}
