// `sluice migrate`: Flux's `flux migrate`, in two modes.
// - Files (-f PATH): the Flux objects in YAML files move to the API versions
//   Flux 2.9 serves, with beta-only fields rewritten (migratefiles.ts), so a
//   repository written for older Flux releases can be committed once and
//   served by any current Flux or Sluice.
// - Cluster (default): every stored object of Sluice's kinds is written back
//   in the storage version (managed fields included), then the CRDs'
//   status.storedVersions is set to that version alone, which a cluster that
//   ran older Flux releases needs before a beta can stop being served.
import { createInterface } from 'node:readline/promises';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { kinds } from '../api/crds.ts';
import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import type { KubeObject } from '../kube/object.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { migrateYamlText, type FileMigration } from './migratefiles.ts';

const usage = `usage: sluice migrate [-f PATH [--extensions .yaml,.yml] [--dry-run] [--yes]]
Moves Flux objects to the API versions Flux 2.9 serves.
  (no -f)                  the objects stored in the cluster: written back in the storage
                           version, and the CRDs' storedVersions set to it
  -f, --path PATH          a file or a directory (walked, .git and node_modules skipped) of manifests:
                           apiVersions changed, beta-only fields rewritten, comments kept
  -e, --extensions LIST    file extensions to read with -f (default .yaml,.yml)
  --dry-run                print what would change, write nothing
  -y, --yes                do not ask before writing files
  --kubeconfig FILE  --context NAME

examples:
  sluice migrate -f ./clusters --dry-run
  sluice migrate -f ./clusters/prod --yes
  sluice migrate
`;

export async function migrateCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ...clusterFlags,
        path: { type: 'string', short: 'f' },
        extensions: { type: 'string', short: 'e', default: '.yaml,.yml' },
        'dry-run': { type: 'boolean', default: false },
        yes: { type: 'boolean', short: 'y', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`sluice migrate: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) return process.stdout.write(usage), 0;
  if (v.path === undefined) {
    if (v['dry-run'] || v.yes || argv.some((a) => a.startsWith('-e') || a.startsWith('--extensions'))) {
      process.stderr.write('sluice migrate: --dry-run, --yes and --extensions are for -f\n');
      return 2;
    }
    const client = await clientFromFlags(v);
    try {
      return await migrateCluster(client, (l) => process.stdout.write(`${l}\n`));
    } finally {
      client.close();
    }
  }
  const extensions = v.extensions.split(',').map((e) => e.trim()).filter(Boolean).map((e) => (e.startsWith('.') ? e : `.${e}`));
  return migrateFiles(v.path, { extensions, dryRun: v['dry-run'], yes: v.yes });
}

async function filesUnder(path: string, extensions: string[]): Promise<string[]> {
  const st = await stat(path);
  if (st.isFile()) return [path];
  const out: string[] = [];
  for (const e of await readdir(path, { withFileTypes: true })) {
    if (e.name === '.git' || e.name === 'node_modules') continue;
    const p = join(path, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p, extensions)));
    else if (e.isFile() && extensions.some((x) => e.name.endsWith(x))) out.push(p);
  }
  return out.sort();
}

async function migrateFiles(path: string, o: { extensions: string[]; dryRun: boolean; yes: boolean }): Promise<number> {
  let files: string[];
  try {
    files = await filesUnder(path, o.extensions);
  } catch (err) {
    process.stderr.write(`sluice migrate: ${(err as Error).message}\n`);
    return 1;
  }
  const todo: Array<{ file: string; m: FileMigration }> = [];
  for (const file of files) {
    const m = migrateYamlText(await readFile(file, 'utf8'));
    if (!m.changes.length) continue;
    todo.push({ file, m });
    const shown = relative(process.cwd(), file) || file;
    for (const c of m.changes) {
      process.stdout.write(`${shown}:${c.line}: ${c.kind}${c.name ? `/${c.name}` : ''} ${c.from} -> ${c.to}\n`);
      for (const n of c.notes) process.stdout.write(`    ${n}\n`);
    }
    if (m.warning) process.stdout.write(`    warning: ${m.warning}\n`);
  }
  if (!todo.length) {
    process.stdout.write(`nothing to migrate in ${files.length} file(s)\n`);
    return 0;
  }
  const count = todo.reduce((n, t) => n + t.m.changes.length, 0);
  if (o.dryRun) {
    process.stdout.write(`${count} object(s) in ${todo.length} file(s) would be migrated (dry run: nothing written)\n`);
    return 0;
  }
  if (!o.yes && process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question(`migrate ${count} object(s) in ${todo.length} file(s)? [y/N] `);
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      process.stdout.write('nothing written\n');
      return 1;
    }
  }
  for (const { file, m } of todo) {
    const mode = (await stat(file)).mode;
    await writeFile(file, m.text, { mode });
  }
  process.stdout.write(`${count} object(s) in ${todo.length} file(s) migrated\n`);
  return 0;
}

interface Crd extends KubeObject {
  spec: { group: string; names: { plural: string; kind: string }; versions: Array<{ name: string; storage?: boolean }> };
  status?: { storedVersions?: string[] };
}

/** Rewrites every stored object of Sluice's kinds in its storage version; returns the exit code. */
export async function migrateCluster(client: KubeClient, say: (line: string) => void): Promise<number> {
  for (const def of kinds) {
    const name = `${def.plural}.${def.group}`;
    const crd = await client.getOrUndefined<Crd>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    if (!crd) continue;
    const storage = crd.spec.versions.find((v) => v.storage)?.name;
    if (!storage) {
      say(`${name}: no storage version`);
      return 1;
    }
    const apiVersion = `${def.group}/${storage}`;
    const list = await client.request<{ items: KubeObject[] }>({ path: `/apis/${apiVersion}/${def.plural}` });
    for (const item of list.items) {
      const path = `/apis/${apiVersion}/namespaces/${item.metadata.namespace}/${def.plural}/${item.metadata.name}`;
      const stale = (item.metadata.managedFields ?? []).map((f, i) => ({ f, i })).filter(({ f }) => f.apiVersion && f.apiVersion !== apiVersion);
      // Managed fields recorded for a beta keep server-side apply from matching
      // owners to fields after the move; like Flux, they are moved to the
      // storage version too. Either patch makes the server store the object again.
      const body = stale.length
        ? stale.map(({ i }) => ({ op: 'replace', path: `/metadata/managedFields/${i}/apiVersion`, value: apiVersion }))
        : {};
      try {
        await client.request({ method: 'PATCH', path, contentType: stale.length ? 'application/json-patch+json' : 'application/merge-patch+json', body });
      } catch (err) {
        if (isNotFound(err)) continue;
        say(`${def.kind}/${item.metadata.namespace}/${item.metadata.name}: could not migrate: ${(err as Error).message}`);
        return 1;
      }
      say(`${def.kind}/${item.metadata.namespace}/${item.metadata.name} migrated to ${storage}`);
    }
    const stored = crd.status?.storedVersions ?? [];
    if (stored.length !== 1 || stored[0] !== storage) {
      await client.request({
        method: 'PATCH',
        path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}/status`,
        contentType: 'application/merge-patch+json',
        body: { status: { storedVersions: [storage] } },
      });
      say(`${name}: storedVersions ${JSON.stringify(stored)} -> ["${storage}"]`);
    }
  }
  say('every stored object is in its storage version');
  return 0;
}
