import { FORCE_AT, REQUESTED_AT, RESET_AT } from '../api/annotations.ts';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { parseDuration, formatDuration } from '../util/duration.ts';
import { DEFAULT_NAMESPACE, KIND_USAGE, kindByName, objectPath, parseKind, type CliKind } from './args.ts';
import { notFoundMessage } from './hints.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { isSuspended, reconcileOutcome, revisionVerb } from './rows.ts';
import { startVerb } from './verb.ts';

const usage = `usage: sluice reconcile KIND NAME [flags]
  ${KIND_USAGE}
  -n, --namespace NS          namespace (default ${DEFAULT_NAMESPACE})
  --with-source               reconcile the object's source first, and wait for it
  --force                     HelmRelease: run a Helm upgrade even if nothing changed
  --reset                     HelmRelease: reset the failure counters
  --timeout DURATION          how long to wait (default 5m)
  --kubeconfig FILE  --context NAME

examples:
  sluice reconcile source git flux-system
  sluice reconcile ks apps --with-source
  sluice reconcile hr podinfo -n apps --force
`;

export async function reconcileCommand(args: string[]): Promise<number> {
  const { values, positionals, help, fail } = startVerb('reconcile', usage, args, {
    ...clusterFlags,
    namespace: { type: 'string', short: 'n' },
    'with-source': { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    reset: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '5m' },
  });
  if (help !== undefined) return help;
  const parsed = parseKind(positionals, false);
  if ('error' in parsed) return fail(parsed.error);
  if (parsed.rest.length !== 1) return fail('give one NAME');
  const kind = parsed.kinds[0]!;
  if ((values.force || values.reset) && kind.def.kind !== 'HelmRelease') return fail('--force and --reset are for HelmReleases');
  const timeoutMs = parseDuration(values.timeout);
  const namespace = values.namespace ?? DEFAULT_NAMESPACE;
  const name = parsed.rest[0]!;
  const client = await clientFromFlags(values);
  try {
    const deadline = Date.now() + timeoutMs;
    const obj = await client.getOrUndefined<KubeObject>(objectPath(kind, namespace, name));
    if (!obj) return notFound(client, kind, namespace, name);
    if (isSuspended(obj)) {
      process.stderr.write(`✗ resource is suspended\n`);
      return 1;
    }
    if (values['with-source']) {
      const src = sourceOf(kind, obj);
      if ('error' in src) {
        process.stderr.write(`✗ ${src.error}\n`);
        return 1;
      }
      const srcObj = await client.getOrUndefined<KubeObject>(objectPath(src.kind, src.namespace, src.name));
      if (!srcObj) return notFound(client, src.kind, src.namespace, src.name);
      if (isSuspended(srcObj)) {
        process.stderr.write(`✗ ${src.kind.def.kind} ${src.namespace}/${src.name} is suspended\n`);
        return 1;
      }
      const code = await requestAndWait(client, src.kind, src.namespace, src.name, { deadline, timeoutMs });
      if (code !== 0) return code;
    }
    return await requestAndWait(client, kind, namespace, name, { deadline, timeoutMs, force: values.force, reset: values.reset });
  } finally {
    client.close();
  }
}

async function notFound(client: KubeClient, kind: CliKind, namespace: string, name: string): Promise<number> {
  process.stderr.write(`✗ ${await notFoundMessage(client, kind, namespace, name)}\n`);
  return 1;
}

/** The source an object is built from: a Kustomization's sourceRef, a HelmRelease's chartRef or the HelmChart made for it. */
export function sourceOf(kind: CliKind, obj: KubeObject): { kind: CliKind; namespace: string; name: string } | { error: string } {
  const spec = (obj.spec ?? {}) as Record<string, any>;
  const ns = obj.metadata.namespace ?? '';
  let ref: { kind?: string; name?: string; namespace?: string } | undefined;
  if (kind.def.kind === 'Kustomization') ref = spec.sourceRef;
  else if (kind.def.kind === 'HelmRelease') {
    if (spec.chartRef) ref = spec.chartRef;
    else {
      // The controller makes a HelmChart <namespace>-<name> in the chart's source namespace.
      const made = (obj.status as Record<string, any> | undefined)?.helmChart as string | undefined;
      const [chartNs, chartName] = made?.includes('/') ? made.split('/') : [spec.chart?.spec?.sourceRef?.namespace ?? ns, `${ns}-${obj.metadata.name}`];
      ref = { kind: 'HelmChart', namespace: chartNs, name: chartName };
    }
  } else return { error: `${kind.def.kind} has no source to reconcile: drop --with-source` };
  const k = ref?.kind ? kindByName(ref.kind) : undefined;
  if (!ref?.name || !k || !k.source) return { error: `cannot reconcile the source ${ref?.kind ?? '(none)'}/${ref?.name ?? ''}: sluice reconciles GitRepository, OCIRepository, HelmRepository and HelmChart` };
  return { kind: k, namespace: ref.namespace || ns, name: ref.name };
}

export interface WaitOptions {
  deadline: number;
  timeoutMs: number;
  force?: boolean;
  reset?: boolean;
  /** Extra merge-patch fields sent with the annotation (resume: spec.suspend false). */
  spec?: Record<string, unknown>;
  /** Only set the annotation (resume --wait=false). */
  noWait?: boolean;
  /** More annotations in the same patch (null removes one): one event, one reconcile. */
  annotations?: Record<string, string | null>;
}

/** Stamps reconcile.fluxcd.io/requestedAt (and forceAt/resetAt) on the object, then waits until its controller handled it; 0 when it ended Ready. */
export async function requestAndWait(client: KubeClient, kind: CliKind, namespace: string, name: string, o: WaitOptions): Promise<number> {
  const path = objectPath(kind, namespace, name);
  const requestedAt = new Date().toISOString();
  const annotations: Record<string, string | null> = { ...o.annotations, [REQUESTED_AT]: requestedAt };
  if (o.force) annotations[FORCE_AT] = requestedAt;
  if (o.reset) annotations[RESET_AT] = requestedAt;
  process.stderr.write(`► annotating ${kind.def.kind} ${name} in ${namespace} namespace\n`);
  await client.request({
    method: 'PATCH',
    path,
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations }, ...(o.spec ? { spec: o.spec } : {}) },
  });
  process.stderr.write(`✔ ${kind.def.kind} annotated\n`);
  if (o.noWait) return 0;
  const start = Date.now();
  const spin = spinner(`waiting for ${kind.def.kind} reconciliation`, start);
  try {
    for (;;) {
      const obj = await client.getOrUndefined<KubeObject>(path);
      if (!obj) {
        spin.stop();
        process.stderr.write(`✗ ${kind.def.kind} ${namespace}/${name} was deleted\n`);
        return 1;
      }
      const out = reconcileOutcome(kind, obj, requestedAt);
      if (out.done) {
        spin.stop();
        if (!out.ready) {
          process.stderr.write(`✗ ${out.message || 'reconciliation failed'}\n`);
          return 1;
        }
        process.stderr.write(`✔ ${kind.def.kind} reconciliation completed\n`);
        process.stdout.write(`✔ ${revisionVerb(kind)} revision ${out.revision}\n`);
        return 0;
      }
      if (Date.now() >= o.deadline) {
        spin.stop();
        process.stderr.write(`✗ timed out after ${formatDuration(o.timeoutMs)} waiting for ${kind.def.kind} ${namespace}/${name} to be reconciled\n`);
        return 1;
      }
      await new Promise((r) => setTimeout(r, Math.min(500, Math.max(0, o.deadline - Date.now()))));
    }
  } finally {
    spin.stop();
  }
}

/** A waiting line: a spinner with the elapsed time on a terminal, one plain line otherwise. */
function spinner(text: string, start: number): { stop(): void } {
  const out = process.stderr;
  if (!out.isTTY) {
    out.write(`◎ ${text}\n`);
    return { stop() {} };
  }
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  const draw = () => out.write(`\r${frames[i++ % frames.length]} ${text} (${Math.floor((Date.now() - start) / 1000)}s)\x1b[K`);
  draw();
  const t = setInterval(draw, 100);
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(t);
      out.write('\r\x1b[K');
    },
  };
}
