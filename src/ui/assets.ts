// The page's files, all served by Sluice itself (no CDN): the HTML shell,
// the style sheet, and the browser code bundled by esbuild from
// src/ui/client/ once per process (in memory; about a tenth of a second).
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { projectRoot } from '../util/paths.ts';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const clientDir = join(projectRoot, 'src', 'ui', 'client');

function asset(body: Buffer | string, type: string): Asset {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return { body: b, type, etag: `"${createHash('sha256').update(b).digest('base64url').slice(0, 22)}"` };
}

/** Builds every asset: path -> file. Throws naming the file when the browser code does not compile. */
export async function loadAssets(): Promise<Map<string, Asset>> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [join(clientDir, 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = out.outputFiles[0]!.contents;
  const [html, css, icon] = await Promise.all([readFile(join(clientDir, 'index.html')), readFile(join(clientDir, 'style.css')), readFile(join(clientDir, 'icon.svg'))]);
  return new Map([
    ['/', asset(html, 'text/html; charset=utf-8')],
    ['/app.js', asset(Buffer.from(js), 'text/javascript; charset=utf-8')],
    ['/app.css', asset(css, 'text/css; charset=utf-8')],
    ['/icon.svg', asset(icon, 'image/svg+xml')],
  ]);
}
