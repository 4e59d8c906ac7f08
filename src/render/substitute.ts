// Flux's post-build variable substitution (spec.postBuild): variables from
// ConfigMaps and Secrets (substituteFrom, in order, later wins) and from
// spec.postBuild.substitute (which wins over both) are expanded in the YAML of
// each object, as Flux renders it, and the result is read back as Flux does.
// Values that came from Secrets never appear in an error message.
import { envsubst, EnvsubstError } from './envsubst.ts';
import type { KubeObject, Manifest } from './manifests.ts';
import { formatOrigin, objectRef } from './manifests.ts';
import { parseYamlStream, YamlSyntaxError, YamlValueError } from './yaml.ts';
import { emitV2 } from './yamlwrite.ts';

export const SUBSTITUTE_KEY = 'kustomize.toolkit.fluxcd.io/substitute';
/** The pattern Flux checks every variable name against. */
export const VAR_NAME_PATTERN = '^[_[:alpha:]][_[:alpha:][:digit:]]*$';
const VAR_NAME = /^[_A-Za-z][_A-Za-z0-9]*$/;

export interface SubstituteReference {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  /** Tolerate a missing object, as if it were present and empty. */
  optional?: boolean;
}

export interface PostBuild {
  substitute?: Record<string, string>;
  substituteFrom?: SubstituteReference[];
  /** WithVariables (default): substitute only when some variable is defined; Always: substitute even without variables. */
  substituteStrategy?: 'WithVariables' | 'Always';
}

/** A ConfigMap as the API returns it: `data` holds plain strings. */
export interface ConfigMapData {
  data?: Record<string, string> | null;
}

/** A Secret as the API returns it: `data` holds base64-encoded values. */
export interface SecretData {
  data?: Record<string, string> | null;
}

/**
 * Where substituteFrom finds its ConfigMaps and Secrets (in the
 * Kustomization's namespace): maps by name, and/or a lookup that returns
 * undefined for an object that does not exist.
 */
export interface VarSources {
  configMaps?: Record<string, ConfigMapData>;
  secrets?: Record<string, SecretData>;
  lookup?: (kind: 'ConfigMap' | 'Secret', name: string) => Promise<ConfigMapData | SecretData | undefined> | ConfigMapData | SecretData | undefined;
}

export interface Variable {
  value: string;
  /** Where the value came from, e.g. `Secret/db` or `postBuild.substitute`. */
  source: string;
  secret: boolean;
}

export type Variables = Map<string, Variable>;

export class SubstitutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubstitutionError';
  }
}

/** Collects the variables of a postBuild spec, as Flux does. */
export async function loadVariables(postBuild: PostBuild | undefined, sources: VarSources = {}): Promise<Variables> {
  const vars: Variables = new Map();
  for (const [i, ref] of (postBuild?.substituteFrom ?? []).entries()) {
    if (ref.kind !== 'ConfigMap' && ref.kind !== 'Secret') {
      throw new SubstitutionError(`postBuild.substituteFrom[${i}]: kind must be ConfigMap or Secret, not ${JSON.stringify(ref.kind)}`);
    }
    if (!ref.name) throw new SubstitutionError(`postBuild.substituteFrom[${i}]: name is required`);
    const source = `${ref.kind}/${ref.name}`;
    let obj: ConfigMapData | SecretData | undefined =
      ref.kind === 'ConfigMap' ? sources.configMaps?.[ref.name] : sources.secrets?.[ref.name];
    if (obj === undefined && sources.lookup) {
      try {
        obj = await sources.lookup(ref.kind, ref.name);
      } catch (err) {
        throw new SubstitutionError(`substitute from '${source}' error: ${(err as Error).message}`);
      }
    }
    if (obj === undefined) {
      if (ref.optional) continue;
      throw new SubstitutionError(`substitute from '${source}' error: ${ref.kind} ${JSON.stringify(ref.name)} not found`);
    }
    for (const [k, v] of Object.entries(obj.data ?? {})) {
      const raw = ref.kind === 'Secret' ? Buffer.from(String(v), 'base64').toString('utf8') : String(v);
      vars.set(k, { value: raw.replaceAll('\n', ''), source, secret: ref.kind === 'Secret' });
    }
  }
  for (const [k, v] of Object.entries(postBuild?.substitute ?? {})) {
    vars.set(k, { value: String(v).replaceAll('\n', ''), source: 'postBuild.substitute', secret: false });
  }
  return vars;
}

/** Whether Flux skips substitution for this object (label or annotation). */
export function substitutionDisabled(obj: KubeObject): boolean {
  const md = obj.metadata ?? {};
  return md.labels?.[SUBSTITUTE_KEY] === 'disabled' || md.annotations?.[SUBSTITUTE_KEY] === 'disabled';
}

/**
 * Masks every Secret-derived value in a message. Error messages are built
 * not to contain substituted text in the first place (they quote the
 * object's YAML before substitution); this is the safety net. Values shorter
 * than four characters are not masked: they cannot be told apart from the
 * message's own words, and masking them would garble it.
 */
export function redactor(vars: Variables): (msg: string) => string {
  const secrets = [...new Set([...vars.values()].filter((v) => v.secret && v.value.length >= 4).map((v) => v.value))];
  secrets.sort((a, b) => b.length - a.length);
  return (msg) => {
    let out = msg;
    for (const s of secrets) out = out.split(s).join('*****');
    return out;
  };
}

export interface SubstituteOptions {
  /** Flux's StrictPostBuildSubstitutions: an unset variable without a default is an error. */
  strict?: boolean;
  /** postBuild.substituteStrategy: Always: substitute even when no variable is defined (defaults and, with strict, unset-variable errors apply). */
  always?: boolean;
}

function lineAt(text: string, line: number): string | undefined {
  return text.split('\n')[line - 1];
}

function lineOfOffset(text: string, offset: number): number {
  const chars = Array.from(text).slice(0, offset).join('');
  return chars.split('\n').length;
}

/**
 * Substitutes variables in every object not marked disabled. Objects are
 * rendered to YAML as Flux renders them (so a quoted "${port}" in a source
 * file still becomes a number when the value is one; see Flux's note on
 * numbers and booleans), expanded, and read back. Returns new manifests.
 */
export function substituteManifests(manifests: Manifest[], vars: Variables, opts: SubstituteOptions = {}): Manifest[] {
  // Flux substitutes only when some variable is defined, unless the strategy is Always.
  if (vars.size === 0 && !opts.always) return manifests;
  const redact = redactor(vars);
  const values = new Map([...vars].map(([k, v]) => [k, v.value]));
  let namesChecked = false;
  return manifests.map((m) => {
    if (substitutionDisabled(m.object)) return m;
    if (!namesChecked) {
      for (const [k, v] of vars) {
        if (!VAR_NAME.test(k)) {
          throw new SubstitutionError(`'${k}' var name is invalid, must match '${VAR_NAME_PATTERN}' (from ${v.source})`);
        }
      }
      namesChecked = true;
    }
    const where = `${objectRef(m.object)} (${formatOrigin(m.origin)})`;
    const template = emitV2(m.object);
    let text: string;
    try {
      text = envsubst(template, values, opts.strict);
    } catch (err) {
      if (!(err instanceof EnvsubstError)) throw err;
      let detail = '';
      if (err.variable !== undefined) {
        const i = template.indexOf('${' + err.variable);
        if (i >= 0) detail = `; used at line ${lineOfOffset(template, i)} of the object: ${JSON.stringify(lineAt(template, lineOfOffset(template, i))?.trim())}`;
      } else if (err.offset !== undefined) {
        const line = lineOfOffset(template, err.offset);
        detail = ` at line ${line} of the object: ${JSON.stringify(lineAt(template, line)?.trim())}`;
      }
      throw new SubstitutionError(redact(`variable substitution failed for ${where}: ${err.message}${detail}`));
    }
    let object: KubeObject;
    try {
      object = readBack(text);
    } catch (err) {
      if (err instanceof YamlSyntaxError || err instanceof YamlValueError) {
        const before = text.split('\n').length === template.split('\n').length ? lineAt(template, err.line) : undefined;
        const reason = err instanceof YamlSyntaxError ? err.reason : err.message;
        throw new SubstitutionError(
          redact(
            `after variable substitution, ${where} is not valid YAML: line ${err.line}, column ${err.column} of the object: ${reason}` +
              (before !== undefined ? `; before substitution that line was ${JSON.stringify(before.trim())}` : ''),
          ),
        );
      }
      throw new SubstitutionError(redact(`after variable substitution, ${where} ${(err as Error).message}`));
    }
    return { object, origin: m.origin };
  });
}

function readBack(text: string): KubeObject {
  const { documents } = parseYamlStream(text, 'v2');
  const docs = documents.filter((d) => d.value !== undefined);
  if (docs.length !== 1) throw new Error(`became ${docs.length} YAML documents instead of one`);
  const v = docs[0]!.value;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('is no longer a YAML mapping');
  const obj = v as Record<string, unknown>;
  if (typeof obj.kind !== 'string' || obj.kind === '') throw new Error('has no kind');
  if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '') throw new Error('has no apiVersion');
  const md = obj.metadata;
  if (typeof md !== 'object' || md === null || Array.isArray(md)) throw new Error('has no metadata');
  const name = (md as Record<string, unknown>).name;
  if (typeof name !== 'string' || name === '') throw new Error('has no metadata.name');
  return obj as KubeObject;
}
