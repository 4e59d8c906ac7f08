// Fuzz targets: the parsers and transforms that read repository content.
// Each target gives inputs (random and built from the format's own tokens,
// so that the structure is reached, not only the first syntax check), runs
// the code under test, and says which errors are the code's own clear
// refusals. Anything else thrown (a TypeError, a stack overflow, a hang
// past the time budget) is a crash.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { Header } from 'tar';
import { envsubst, EnvsubstError } from '../../../src/render/envsubst.ts';
import { normalizeKustomization } from '../../../src/render/kustomize.ts';
import { ManifestError, parseManifests } from '../../../src/render/manifests.ts';
import { cloudKms, isSopsEncrypted } from '../../../src/render/sops.ts';
import { parseYamlStream, YamlSyntaxError, YamlValueError } from '../../../src/render/yaml.ts';
import { emitV2 } from '../../../src/render/yamlwrite.ts';
import { ConstraintError, newestMatching, parseConstraint } from '../../../src/source/semver.ts';
import { parseDuration } from '../../../src/util/duration.ts';
import { canonicalJson } from '../../../src/util/values.ts';
import { untarLimited, UntarLimitError } from '../../../src/util/untar.ts';

export interface FuzzTarget<T> {
  name: string;
  /** The source files the target exercises (for the coverage figure). */
  files: string[];
  input: fc.Arbitrary<T>;
  run(input: T): void | Promise<void>;
  /** Whether an error is an expected, clear refusal. */
  expected(err: unknown): boolean;
}

/** Strings made of a format's tokens and a little noise. */
function tokens(vocab: string[], maxLength = 60): fc.Arbitrary<string> {
  return fc.array(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...vocab) }, { weight: 1, arbitrary: fc.string({ maxLength: 4 }) }), { maxLength }).map((a) => a.join(''));
}

const YAML_TOKENS = [
  'apiVersion: v1\n', 'kind: ConfigMap\n', 'kind: List\nitems:\n', 'metadata:\n', '  name: x\n', 'data:\n', '---\n', '...\n',
  '&a ', '*a', '&b ', '*b', '<<: ', '[', ']', '{', '}', ', ', ': ', '- ', '\n', '  ', '    ', '"', "'", '\\', '!!binary ', '!!str ',
  '!!int ', '!!float ', '!!timestamp ', '!custom ', '? ', '|\n', '>-\n', '# c\n', '%YAML 1.2\n', '0x1F', '0o17', '1e309', '.inf', '.nan',
  '2001-12-14', 'yes', 'on', '~', 'null', '123456789012345678901234567890', '-', '\t', '\r\n', '\uFEFF', '\u2028', 'é', '🙂',
];
const yamlText = fc.oneof({ weight: 4, arbitrary: tokens(YAML_TOKENS, 80) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) });

const yamlErrors = (err: unknown) => err instanceof ManifestError || err instanceof YamlSyntaxError || err instanceof YamlValueError;

const yamlSplit: FuzzTarget<string> = {
  name: 'yaml-split',
  files: ['src/render/yaml.ts', 'src/render/manifests.ts'],
  input: yamlText,
  run: (text) => {
    for (const flavor of ['v2', 'v3'] as const) {
      const objects = parseManifests(text, 'fuzz.yaml', { flavor, requireName: false });
      for (const m of objects) {
        if (typeof m.object.kind !== 'string' || typeof m.object.apiVersion !== 'string') throw new Error('an object without a string kind/apiVersion got through');
        JSON.stringify(m.object); // every value must be JSON
      }
    }
  },
  expected: yamlErrors,
};

const KUS_TOKENS = [
  'resources:\n', 'bases:\n', 'components:\n', '- ./a\n', '- ../b\n', '- https://x/y//z?ref=v1\n', 'namePrefix: p-\n', 'Namespace: n\n', 'NAMEPREFIX: q\n',
  'patches:\n', '- path: p.yaml\n', '  target: {kind: X}\n', 'images:\n', '- name: a\n  newTag: "1"\n', 'configMapGenerator:\n', '- name: c\n  files: [a=b]\n',
  'unknownField: 1\n', 'apiVersion: kustomize.config.k8s.io/v1beta1\n', 'kind: Kustomization\n', '[', ']', '{', '}', ': ', '  ', '\n', '*a', '&a ',
];

const kustomization: FuzzTarget<string> = {
  name: 'kustomization-file',
  files: ['src/render/kustomize.ts', 'src/render/yamlwrite.ts', 'src/render/yaml.ts'],
  input: fc.oneof(tokens(KUS_TOKENS, 40), yamlText),
  run: (text) => {
    const docs = parseYamlStream(text, 'v2').documents.filter((d) => d.value !== undefined && d.value !== null);
    for (const d of docs) {
      const v = d.value;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) continue;
      const kus = normalizeKustomization(v);
      // What Sluice writes for kustomize must read back as the same values.
      const back = parseYamlStream(emitV2(kus), 'v2').documents[0]?.value ?? {};
      if (canonicalJson(back) !== canonicalJson(kus)) throw new Error(`emitV2 round trip changed the kustomization: ${JSON.stringify(kus)} -> ${JSON.stringify(back)}`);
    }
  },
  expected: (err) => err instanceof YamlSyntaxError || err instanceof YamlValueError,
};

const SUBST_TOKENS = ['${', '}', '$', '$$', ':-', ':=', ':+', ':?', '-', '=', '+', '?', '#', '##', '%', '%%', '/', '//', '^', '^^', ',', ',,', ':', 'VAR', 'X', 'unset', '0', '1', '\\', ' ', '\n', '"', '*', '[', ']'];
const substitution: FuzzTarget<{ text: string; strict: boolean }> = {
  name: 'substitution',
  files: ['src/render/envsubst.ts'],
  input: fc.record({ text: fc.oneof({ weight: 4, arbitrary: tokens(SUBST_TOKENS, 50) }, { weight: 1, arbitrary: fc.string({ maxLength: 80 }) }), strict: fc.boolean() }),
  run: ({ text, strict }) => {
    const out = envsubst(text, new Map([['VAR', 'value'], ['X', 'a/b/c'], ['EMPTY', '']]), strict);
    if (typeof out !== 'string') throw new Error('envsubst returned a non-string');
  },
  expected: (err) => err instanceof EnvsubstError,
};

const SOPS_TOKENS = ['sops:\n', '  kms:', '  gcp_kms:', '  azure_kv:', '  age:', '\n', '    - arn: a\n', '[', '{', '}', ']', '"kms":', ' ', '\t', '  mac: ENC[x]\n', 'mac: 1\n', ','];
const sops: FuzzTarget<string> = {
  name: 'sops-metadata',
  files: ['src/render/sops.ts'],
  input: fc.oneof(tokens(SOPS_TOKENS, 60), yamlText),
  run: (text) => {
    cloudKms(text);
    try {
      for (const d of parseYamlStream(text, 'v3').documents) {
        if (d.value && typeof d.value === 'object' && !Array.isArray(d.value)) isSopsEncrypted(d.value);
      }
    } catch (err) {
      if (!(err instanceof YamlSyntaxError || err instanceof YamlValueError)) throw err;
    }
  },
  expected: () => false,
};

const SEMVER_TOKENS = ['1', '0', '2.3', '.', '*', 'x', 'X', '^', '~', '~>', '>', '<', '>=', '<=', '=', '!=', '||', ',', ' ', '-', 'rc.1', '+build', 'v', '1.2.3', '99999999999999999999', 'alpha'];
const semverRanges: FuzzTarget<{ range: string; versions: string[] }> = {
  name: 'semver-range',
  files: ['src/source/semver.ts'],
  input: fc.record({ range: fc.oneof({ weight: 4, arbitrary: tokens(SEMVER_TOKENS, 12) }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) }), versions: fc.array(fc.oneof(tokens(SEMVER_TOKENS, 6), fc.string({ maxLength: 10 })), { maxLength: 8 }) }),
  run: ({ range, versions }) => {
    const v = newestMatching(versions, range);
    if (v !== undefined && !versions.includes(v)) throw new Error(`newestMatching returned ${v}, not one of the versions`);
    try {
      parseConstraint(range);
    } catch (err) {
      if (!/^improper constraint/.test((err as Error).message)) throw err;
    }
  },
  expected: (err) => err instanceof ConstraintError,
};

const DURATION_TOKENS = ['1', '0', '.', '5', 'h', 'm', 's', 'ms', 'us', 'µs', 'ns', ' ', '-', '+', '1e3', 'd', '99999999999999999999'];
const durations: FuzzTarget<string> = {
  name: 'go-duration',
  files: ['src/util/duration.ts'],
  input: fc.oneof({ weight: 4, arbitrary: tokens(DURATION_TOKENS, 10) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) }),
  run: (text) => {
    const ms = parseDuration(text);
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`parseDuration(${JSON.stringify(text)}) = ${ms}`);
  },
  expected: (err) => err instanceof Error && /^invalid duration "/.test(err.message),
};

// --- tar: well-formed archives with hostile entries, then bytes flipped.
function entry(path: string, type: 'File' | 'SymbolicLink' | 'Link' | 'Directory', body: string, linkpath: string): Buffer {
  const h = new Header({ path, mode: 0o644, size: type === 'File' ? Buffer.byteLength(body) : 0, type, linkpath, mtime: new Date(0) });
  const block = Buffer.alloc(512);
  h.encode(block, 0);
  const data = Buffer.from(body);
  return Buffer.concat([block, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}
const TAR_PATHS = ['a', 'a/b', '../x', '/abs', 'a/../../y', 'l', 'l/z', './c', 'd/', '..', '.', 'a//b', 'h'];
const tarArchive = fc
  .record({
    entries: fc.array(fc.record({ path: fc.oneof(fc.constantFrom(...TAR_PATHS), fc.string({ maxLength: 12 })), type: fc.constantFrom('File', 'SymbolicLink', 'Link', 'Directory') as fc.Arbitrary<'File' | 'SymbolicLink' | 'Link' | 'Directory'>, body: fc.string({ maxLength: 40 }), link: fc.constantFrom('..', '/etc', '../..', 'a', '/etc/hostname', 'l') }), { maxLength: 6 }),
    flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 }),
    gzip: fc.boolean(),
  })
  .map(({ entries, flips, gzip }) => {
    const raw = Buffer.concat([...entries.map((e) => entry(e.path || 'e', e.type, e.body, e.link)), Buffer.alloc(1024)]);
    for (const f of flips) raw[f.at % raw.length] = f.value;
    return gzip ? gzipSync(raw) : raw;
  });

let tarArea: string | undefined;
const tarExtract: FuzzTarget<Buffer> = {
  name: 'tar-extract',
  files: ['src/util/untar.ts'],
  input: tarArchive,
  run: async (bytes) => {
    tarArea ??= await mkdtemp(join(tmpdir(), 'sluice-fuzz-tar-'));
    const file = join(tarArea, 'in.tar');
    const cwd = join(tarArea, 'out');
    // Retried: after a refused archive, tar may still be closing files it had
    // begun (seen once in CI as ENOTEMPTY).
    await rm(cwd, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    await mkdir(cwd);
    await writeFile(file, bytes);
    try {
      await untarLimited({ file, cwd, limits: { maxFileSize: 1 << 16, maxTotalSize: 1 << 18, maxEntries: 64 } });
    } finally {
      // Nothing may appear beside `out` and `in.tar`.
      const beside = (await readdir(tarArea)).filter((n) => n !== 'out' && n !== 'in.tar');
      if (beside.length) throw new Error(`extraction wrote outside its directory: ${beside.join(', ')}`);
    }
  },
  expected: (err) => err instanceof UntarLimitError || (err instanceof Error && (/^TAR_|^Z_/.test(String((err as NodeJS.ErrnoException).code ?? '')) || /zlib|gzip|header|tar|unexpected end|ENOTDIR|EEXIST|EISDIR|ENOENT/i.test(err.message))),
};

export async function cleanupTargets(): Promise<void> {
  if (tarArea) await rm(tarArea, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  tarArea = undefined;
}

export const TARGETS: Array<FuzzTarget<any>> = [yamlSplit, kustomization, substitution, sops, semverRanges, durations, tarExtract];
