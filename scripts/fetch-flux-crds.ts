// Re-fetches Flux's CRDs, the test data of test/compat/crds.test.ts:
//
//   node --import tsx scripts/fetch-flux-crds.ts source-controller@v1.9.6 kustomize-controller@v1.9.6 ...
//
// For each <module>@<version>, `go mod download` fetches the module
// github.com/fluxcd/<module> (into a temporary GOMODCACHE, removed at the
// end), and its config/crd/bases/*.yaml and LICENSE are copied to
// test/compat/flux-crds/<module>@<version>/. Other versions of the same
// module there are removed, so each module is there once. Then run
// `node --import tsx test/compat/report.ts` to see what changed.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../src/util/exec.ts';

const dest = fileURLToPath(new URL('../test/compat/flux-crds/', import.meta.url));

const specs = process.argv.slice(2);
if (specs.length === 0 || specs.some((s) => !/^[a-z0-9-]+@v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(s))) {
  console.error('usage: node --import tsx scripts/fetch-flux-crds.ts <module>@<version>...   e.g. source-controller@v1.9.6');
  process.exit(2);
}

const cache = mkdtempSync(join(tmpdir(), 'sluice-flux-crds-'));
const env = { ...process.env, GOMODCACHE: cache, GOFLAGS: '-mod=mod' };
try {
  for (const spec of specs) {
    const [module] = spec.split('@') as [string];
    const res = await run('go', ['mod', 'download', '-json', `github.com/fluxcd/${spec}`], { env, cwd: cache });
    const info = JSON.parse(res.stdout) as { Dir?: string; Error?: string };
    if (!info.Dir) throw new Error(`go mod download github.com/fluxcd/${spec}: ${info.Error ?? 'no Dir'}`);
    const bases = join(info.Dir, 'config', 'crd', 'bases');
    const files = readdirSync(bases).filter((f) => f.endsWith('.yaml')).sort();
    if (files.length === 0) throw new Error(`${spec}: no CRDs in config/crd/bases`);

    for (const old of readdirSync(dest).filter((d) => d.startsWith(`${module}@`) && d !== spec)) {
      rmSync(join(dest, old), { recursive: true, force: true });
      console.log(`removed ${old}`);
    }
    const out = join(dest, spec);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    for (const f of [...files.map((f) => join(bases, f)), join(info.Dir, 'LICENSE')]) {
      const to = join(out, f.slice(f.lastIndexOf('/') + 1));
      copyFileSync(f, to);
      chmodSync(to, 0o644); // the module cache's files are read-only
    }
    console.log(`${spec}: ${files.join(', ')}, LICENSE`);
  }
} finally {
  // The module cache is read-only; go clean makes it removable.
  await run('go', ['clean', '-modcache'], { env, cwd: cache, check: false });
  rmSync(cache, { recursive: true, force: true });
}
