import { parseManifests } from './src/render/manifests.ts';
const n = Number(process.argv[2]);
const big = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n' + Array.from({length: n}, (_, i) => `  k${i}: "${'v'.repeat(40)}"`).join('\n') + '\n';
const s = Date.now();
let peak = 0; const iv = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
try { const r = parseManifests(big, 'f.yaml'); console.log('ok', r.length); } catch (e) { console.log((e as Error).name, String((e as Error).message).slice(0, 200)); }
peak = Math.max(peak, process.memoryUsage().rss);
console.log('MiB in', (big.length/2**20).toFixed(1), 'ms', Date.now() - s, 'rss MiB', Math.round(peak / 2**20)); clearInterval(iv);
