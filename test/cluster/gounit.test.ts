import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/util/exec.ts';

// test: no cluster

// The local control plane's pure Go logic (the volume provisioner's decisions,
// cluster/internal) has Go table tests; `npm test` runs them with the rest.
test('go test ./internal/... in cluster/', async () => {
  const cwd = fileURLToPath(new URL('../../cluster', import.meta.url));
  const res = await run('go', ['test', '-trimpath', './internal/...'], { cwd, check: false });
  assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, /^ok\s+\S+\/internal\/fakestorage/m);
});
