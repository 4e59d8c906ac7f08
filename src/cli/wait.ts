// `sluice wait kustomization|helmrelease NAME --for-revision SHA`: what a CI
// job runs after a push, to learn whether that commit was deployed.
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { formatDuration, parseDuration } from '../util/duration.ts';
import { DEFAULT_NAMESPACE, objectPath, parseKind, type CliKind } from './args.ts';
import { notFoundMessage } from './hints.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { newDiscovery, readInventory } from './live.ts';
import { waitState, type WaitState } from './waitstate.ts';
import { startVerb } from './verb.ts';

export const usage = `usage: sluice wait kustomization|helmrelease NAME --for-revision REVISION [flags]
Waits until the Kustomization or HelmRelease has applied REVISION and is
healthy. REVISION is a commit SHA (or a prefix of 7 digits or more), a whole
revision as the controller writes it (main@sha1:...), or a chart version.
  -n, --namespace NS          namespace (default ${DEFAULT_NAMESPACE})
  --for-revision REVISION     the revision to wait for (required)
  --timeout DURATION          how long to wait (default 5m)
  --interval DURATION         how often to look (default 2s)
  --kubeconfig FILE  --context NAME
Exit code: 0 applied and healthy, 1 failed (the reason and the objects that are
not healthy are printed), 2 timed out or usage error.
Progress is a spinner on a terminal and one line per change otherwise.

examples:
  sluice wait ks apps --for-revision "$GITHUB_SHA" --timeout 10m
  sluice wait hr podinfo -n apps --for-revision 6.5.0
`;

export async function waitCommand(args: string[]): Promise<number> {
  const { values, positionals, help, fail } = startVerb('wait', usage, args, {
    ...clusterFlags,
    namespace: { type: 'string', short: 'n' },
    'for-revision': { type: 'string' },
    timeout: { type: 'string', default: '5m' },
    interval: { type: 'string', default: '2s' },
    verbose: { type: 'boolean', default: false },
  });
  if (help !== undefined) return help;
  const parsed = parseKind(positionals, false);
  if ('error' in parsed) return fail(parsed.error);
  const kind = parsed.kinds[0]!;
  if (kind.source) return fail('wait is for kustomization (ks) and helmrelease (hr)');
  if (parsed.rest.length !== 1) return fail('give one NAME');
  const want = values['for-revision'];
  if (!want) return fail('--for-revision is required');
  let timeoutMs: number;
  let intervalMs: number;
  try {
    timeoutMs = parseDuration(values.timeout);
    intervalMs = parseDuration(values.interval);
  } catch (err) {
    return fail((err as Error).message);
  }
  const name = parsed.rest[0]!;
  const namespace = values.namespace ?? DEFAULT_NAMESPACE;
  const client = await clientFromFlags(values);
  try {
    return await follow(client, kind, namespace, name, want, { timeoutMs, intervalMs: Math.max(200, intervalMs) });
  } finally {
    client.close();
  }
}

async function follow(client: KubeClient, kind: CliKind, namespace: string, name: string, want: string, o: { timeoutMs: number; intervalMs: number }): Promise<number> {
  const start = Date.now();
  const deadline = start + o.timeoutMs;
  const what = `${kind.def.kind} ${namespace}/${name}`;
  const out = progress(`waiting for ${what} to apply ${want}`, start);
  let last = '';
  let missingSaid = false;
  try {
    for (;;) {
      const obj = await client.getOrUndefined<KubeObject>(objectPath(kind, namespace, name));
      let state: WaitState;
      if (!obj) {
        // CI may wait for an object the same commit creates: keep looking, but say where one of that name is.
        if (!missingSaid) {
          out.line(`◎ ${await notFoundMessage(client, kind, namespace, name)}; waiting for it to appear`);
          missingSaid = true;
        }
        state = { phase: 'waiting', summary: 'not found' };
      } else state = waitState(obj, want);
      if (state.phase === 'ready') {
        out.stop();
        process.stdout.write(`✔ ${what} applied revision ${state.revision} and is healthy (${elapsed(start)})\n`);
        return 0;
      }
      if (state.phase === 'failed') {
        out.stop();
        process.stdout.write(`✗ ${what} failed at revision ${state.revision}: ${state.reason}\n`);
        process.stdout.write(indent(state.message));
        await printUnhealthy(client, obj!);
        return 1;
      }
      if (state.summary !== last) {
        out.update(state.summary);
        last = state.summary;
      }
      if (Date.now() >= deadline) {
        out.stop();
        process.stdout.write(`✗ timed out after ${formatDuration(o.timeoutMs)} waiting for ${what} to apply ${want}; last seen: ${last}\n`);
        return 2;
      }
      await new Promise((r) => setTimeout(r, Math.min(o.intervalMs, Math.max(0, deadline - Date.now()))));
    }
  } finally {
    out.stop();
  }
}

/** The inventory's objects that are not Current, one line each. */
async function printUnhealthy(client: KubeClient, obj: KubeObject): Promise<void> {
  const items = await readInventory(client, newDiscovery(client), obj, { health: true }).catch(() => []);
  const bad = items.filter((i) => i.health && i.health.status !== 'Current');
  if (!bad.length) return;
  process.stdout.write('objects not healthy:\n');
  for (const i of bad) process.stdout.write(`  ${i.subject}: ${i.health!.status}${i.health!.message ? `: ${i.health!.message}` : ''}\n`);
}

const indent = (text: string) => (text.trim() ? `${text.trim().split('\n').map((l) => `  ${l}`).join('\n')}\n` : '');
const elapsed = (start: number) => formatDuration(Math.round((Date.now() - start) / 1000) * 1000);

/**
 * On a terminal, a spinner with the state and elapsed time on one line; in
 * CI, one plain line per change of state, each with the elapsed time.
 */
function progress(text: string, start: number): { update(summary: string): void; line(text: string): void; stop(): void } {
  const err = process.stderr;
  if (!err.isTTY) {
    err.write(`◎ ${text}\n`);
    return {
      update: (s) => err.write(`  ${elapsed(start)}: ${s}\n`),
      line: (t) => err.write(`${t}\n`),
      stop() {},
    };
  }
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  let summary = '';
  const draw = () => err.write(`\r${frames[i++ % frames.length]} ${text} (${Math.floor((Date.now() - start) / 1000)}s)${summary ? `: ${summary}` : ''}\x1b[K`);
  draw();
  const t = setInterval(draw, 100);
  let stopped = false;
  return {
    update(s) {
      summary = s;
    },
    line(t2) {
      err.write(`\r\x1b[K${t2}\n`);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(t);
      err.write('\r\x1b[K');
    },
  };
}
