import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collect, type Result } from './sluice.ts';
// test: no cluster

// Every verb's --help: printed on stdout with exit 0, listing the verb's
// flags and examples, and doing nothing else (no cluster is reachable here:
// a verb that acted instead of helping would fail or hang).

const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

async function help(dir: string, args: string[]): Promise<Result> {
  const env = { ...process.env, KUBECONFIG: join(dir, 'no-kubeconfig'), SLUICE_HOME: join(dir, 'home'), HOME: dir };
  const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return collect(child);
}

/** Verbs whose --help is under a word that follows them. */
const NESTED: Record<string, string[][]> = {
  cluster: [['cluster', 'up'], ['cluster', 'down'], ['cluster', 'status']],
  diff: [['diff'], ['diff', 'ks'], ['diff', 'hr']],
  build: [['build', 'ks']],
  create: [['create', 'source', 'git'], ['create', 'ks'], ['create', 'hr'], ['create', 'secret', 'git']],
  bootstrap: [['bootstrap'], ['bootstrap', 'git']],
  image: [['image', 'build']],
  tools: [['tools', 'install']],
};
/** Verbs that take no flags beyond --help. */
const NO_FLAGS = new Set(['completion', 'tools install']);

test('sluice VERB --help: every verb prints its flags and examples on stdout, exits 0 and does nothing else', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-help-'));
  try {
    const top = await help(dir, ['--help']);
    assert.equal(top.code, 0, top.stderr);
    const verbs = [...new Set([...top.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!))];
    assert.ok(verbs.length >= 30, `sluice --help lists the verbs: ${verbs.join(' ')}`);
    const checked: string[] = [];
    const problems: string[] = [];
    for (const verb of verbs) {
      for (const words of NESTED[verb] ?? [[verb]]) {
        const what = words.join(' ');
        const r = await help(dir, [...words, '--help']);
        const bad = (why: string) => problems.push(`${what} --help: ${why}\n${r.stdout}${r.stderr}`);
        if (r.code !== 0) bad(`exit ${r.code}, not 0`);
        if (!/^usage: sluice /.test(r.stdout)) bad('no usage on stdout');
        if (!/\nexamples:\n {2}\S/.test(r.stdout)) bad('no examples');
        if (!NO_FLAGS.has(what) && !/^\s+(-[a-zA-Z], )?--[a-z]/m.test(r.stdout)) bad('no flags');
        checked.push(what);
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(checked.includes('cluster status') && checked.includes('get'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
