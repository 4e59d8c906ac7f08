import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireProgram } from '../../scripts/programs.ts';
// test: no cluster

// `sluice completion bash|zsh|fish`: each script loaded into the real shell,
// which is then asked to complete partial command lines. zsh completes only
// in an interactive line editor, so it runs in a pseudo-terminal (zsh's own
// zpty module); a key bound to a widget writes the edited line to a file.

const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
let dir: string;

/** The script `sluice completion SHELL` prints, saved to a file. */
function script(shell: string): string {
  const r = spawnSync(process.execPath, [bin, 'completion', shell], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const file = join(dir, `sluice.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-completion-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The lines each partial command line becomes after a Tab, as the shell completed them. */
const cases: Array<[string, string]> = [
  ['sluice ge', 'sluice get '],
  ['sluice reconcile source o', 'sluice reconcile source oci '],
  ['sluice get ks --all-n', 'sluice get ks --all-namespaces '],
  ['sluice completion f', 'sluice completion fish '],
  ['sluice suspend hel', 'sluice suspend helmrelease '],
];

test('completion bash: the script loads in bash and completes verbs, kinds, source kinds and flags', () => {
  const bash = requireProgram('bash');
  const file = script('bash');
  for (const [typed, want] of cases) {
    const words = typed.split(' ');
    const probe = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE='${typed}'; _sluice; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync(bash, ['--noprofile', '--norc', '-c', probe], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [want.trim().split(' ').pop()], `bash completing "${typed}"`);
  }
});

test('completion fish: the script loads in fish and completes verbs, kinds, source kinds and flags', () => {
  const fish = requireProgram('fish');
  const file = script('fish');
  for (const [typed, want] of cases) {
    const r = spawnSync(fish, ['--no-config', '-c', `source ${file}; and complete -C '${typed}'`], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', `fish printed errors loading the script: ${r.stderr}`);
    // One candidate per line, a tab then its description when it has one.
    const got = r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
    assert.deepEqual(got, [want.trim().split(' ').pop()], `fish completing "${typed}"`);
  }
  const kinds = spawnSync(fish, ['--no-config', '-c', `source ${file}; and complete -C 'sluice get '`], { encoding: 'utf8', timeout: 30_000 });
  assert.deepEqual(kinds.stdout.split('\n').filter(Boolean).sort(), ['all', 'helmrelease', 'hr', 'ks', 'kustomization', 'source']);
});

test('completion zsh: the script loads under compinit and completes in the line editor', async () => {
  const zsh = requireProgram('zsh');
  const file = script('zsh');
  const out = join(dir, 'zsh-lines');
  // ^T is bound to a widget that appends the edited line to a file and clears it.
  const driver = [
    'zmodload zsh/zpty',
    'zpty z zsh -f -i',
    `zpty -w z "PS1='> '; autoload -Uz compinit; compinit -u -D; source ${file}; print -r -- \\"comps=\\$_comps[sluice]\\" >> ${out}"`,
    `zpty -w z "dump() { print -r -- \\"<\\$BUFFER>\\" >> ${out}; BUFFER= }; zle -N dump; bindkey '^T' dump"`,
    ...cases.map(([typed]) => `zpty -n -w z '${typed}'$'\\t\\x14'`),
    `for i in {1..150}; do [[ -f ${out} && $(wc -l < ${out}) -ge ${cases.length + 1} ]] && break; sleep 0.2; done`,
    'zpty -d z',
  ].join('\n');
  const driverFile = join(dir, 'driver.zsh');
  await writeFile(driverFile, driver);
  const r = spawnSync(zsh, ['-f', driverFile], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = (await readFile(out, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  assert.equal(lines[0], 'comps=_sluice', 'compinit registered the function for sluice');
  assert.deepEqual(lines.slice(1), cases.map(([, want]) => `<${want}>`));
});
