// The failure every source kind reports from a remote repository (a chart
// index, an OCI registry, a chart pull), carrying the condition reason Flux
// gives it.

/** A repository problem: `reason` is Flux's condition reason for it. */
export class RepositoryError extends Error {
  constructor(
    message: string,
    readonly reason: 'IndexationFailed' | 'AuthenticationFailed' | 'URLInvalid' | 'InvalidChartReference' | 'ChartPullError' | 'Failed',
  ) {
    super(message);
    this.name = 'RepositoryError';
  }
}
