import { flag, type HelmCli } from './cli.ts';
import { postRendererArgs, valuesFile, type PostRendererRef } from './install.ts';

export interface TemplateRequest {
  name: string;
  namespace: string;
  chart: string;
  values: Record<string, unknown>;
  includeCrds?: boolean;
  skipTests?: boolean;
  /** Kubernetes version for .Capabilities (helm's default otherwise). */
  kubeVersion?: string;
  apiVersions?: string[];
  postRenderer?: PostRendererRef;
}

/** `helm template`: renders a chart without a cluster; render errors come back as HelmError. */
export async function templateChart(cli: HelmCli, r: TemplateRequest): Promise<string> {
  return cli.run(
    [
      'template',
      r.name,
      r.chart,
      '--values',
      '@file:values.yaml',
      ...flag(r.includeCrds, '--include-crds'),
      ...flag(r.skipTests, '--skip-tests'),
      ...(r.kubeVersion ? ['--kube-version', r.kubeVersion] : []),
      ...(r.apiVersions ?? []).flatMap((v) => ['--api-versions', v]),
      ...postRendererArgs(r.postRenderer),
    ],
    { namespace: r.namespace, files: valuesFile(r.values) },
  );
}
