// Benchmark: where `get` over 10,000 Kustomizations spends its time on the
// API server's side. One client, one keep-alive connection, and the LIST
// asked for in each of the ways the API server can answer it: the whole
// objects as JSON (a consistent read, or resourceVersion=0 from the watch
// cache), in pages, or as a Table of the CRD's printer columns with no
// object, the objects' metadata, or the whole object. Times are from the
// request to the last byte, medians of the runs, interleaved so that a
// change in the machine's load falls on every variant alike.
//
//   node --import tsx bench/getlist.ts --namespace NS [--runs 5] [--kubeconfig F]
//
// NS is a namespace `bench/get.ts --keep` left (or -A for every namespace).
import { parseArgs } from 'node:util';
import { kubeconfigPath } from '../src/dev/cluster/state.ts';
import { KubeClient } from '../src/kube/client.ts';
import { median } from './lib.ts';

const { values } = parseArgs({
  options: {
    namespace: { type: 'string' },
    'all-namespaces': { type: 'boolean', short: 'A', default: false },
    runs: { type: 'string', default: '5' },
    kubeconfig: { type: 'string' },
  },
});
if (!values.namespace && !values['all-namespaces']) throw new Error('--namespace NS or -A');
const RUNS = Number(values.runs);
const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG ?? kubeconfigPath();
const path = `/apis/kustomize.toolkit.fluxcd.io/v1${values.namespace ? `/namespaces/${values.namespace}` : ''}/kustomizations`;
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

interface Variant {
  what: string;
  accept?: string;
  query?: Record<string, string>;
  /** Pages of this size, following `continue`. */
  limit?: number;
}
const variants: Variant[] = [
  { what: 'JSON, consistent read (what `get` sent)' },
  { what: 'JSON, resourceVersion=0 (watch cache)', query: { resourceVersion: '0' } },
  { what: 'JSON, pages of 500', limit: 500 },
  { what: 'Table, includeObject=Object', accept: TABLE, query: { includeObject: 'Object' } },
  { what: 'Table, includeObject=Metadata', accept: TABLE, query: { includeObject: 'Metadata' } },
  { what: 'Table, includeObject=None', accept: TABLE, query: { includeObject: 'None' } },
  { what: 'Table, includeObject=None, resourceVersion=0', accept: TABLE, query: { includeObject: 'None', resourceVersion: '0' } },
];

const client = await KubeClient.fromFile(kubeconfig);
try {
  const times = variants.map(() => [] as number[]);
  const bytes = variants.map(() => 0);
  const parse = variants.map(() => [] as number[]);
  for (let r = 0; r < RUNS; r++) {
    for (const [i, v] of variants.entries()) {
      const t = process.hrtime.bigint();
      let total = 0;
      let next: string | undefined;
      let parseMs = 0;
      do {
        const query = { ...v.query, ...(v.limit ? { limit: String(v.limit) } : {}), ...(next ? { continue: next } : {}) };
        const res = await client.stream({ path, query, accept: v.accept ?? 'application/json', timeoutMs: 120_000 });
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        const body = Buffer.concat(chunks);
        total += body.length;
        const p = process.hrtime.bigint();
        const doc = JSON.parse(body.toString('utf8')) as { metadata?: { continue?: string } };
        parseMs += Number(process.hrtime.bigint() - p) / 1e6;
        next = doc.metadata?.continue || undefined;
      } while (next);
      times[i]!.push(Number(process.hrtime.bigint() - t) / 1e6 - parseMs);
      parse[i]!.push(parseMs);
      bytes[i] = total;
    }
  }
  const rows = variants.map(
    (v, i) =>
      `| ${v.what} | ${(median(times[i]!) / 1000).toFixed(2)} s | ${(Math.min(...times[i]!) / 1000).toFixed(2)} s | ${(bytes[i]! / 1e6).toFixed(1)} MB | ${median(parse[i]!).toFixed(0)} ms |`,
  );
  process.stdout.write(
    `\n| LIST of ${path} | to the last byte, median of ${RUNS} | fastest | bytes | client JSON.parse, median |\n| --- | --- | --- | --- | --- |\n${rows.join('\n')}\n`,
  );
} finally {
  client.close();
}
