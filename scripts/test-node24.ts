// `npm run test:node24 [-- FILE|DIR...]`: the test suite (or the given files)
// on the Node runtime the container image ships (src/dev/image/layers.ts,
// the current LTS), fetched with npm and checked against its pinned
// integrity. The runner and every test process it starts (each file, each
// `sluice` child) run on that binary: it is first on PATH and is
// process.execPath. CI runs `npm test` on the machine's Node 20; this is the
// on-demand proof that the image's Node runs the same suite.
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { nodeBinary, NODE } from '../src/dev/image/layers.ts';

const node = await nodeBinary((m) => process.stdout.write(`# ${m}\n`));
process.stdout.write(`# running the suite on Node ${NODE.version} (${node})\n`);
const child = spawn(node, ['--import', 'tsx', 'scripts/test.ts', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ''}` },
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
