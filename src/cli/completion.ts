// `sluice completion bash|zsh|fish`: shell completion for the verbs, the
// kind words and the flags.
const KIND_VERBS = ['get', 'reconcile', 'suspend', 'resume', 'export', 'delete', 'wait', 'tree', 'build', 'diff'];
const KINDS = ['source', 'kustomization', 'ks', 'helmrelease', 'hr', 'all'];
const SOURCES = ['git', 'oci', 'helm', 'chart'];
const FLAGS = ['--namespace', '--all-namespaces', '--kubeconfig', '--context', '--timeout', '--output', '--help', '--watch', '--all', '--path', '--for-revision', '--silent', '--health', '--for', '--kind', '--name', '--level', '--since', '--follow', '--stored'];

const usage = `usage: sluice completion bash|zsh|fish
Prints a completion script for the shell. To load it:
  bash:  source <(sluice completion bash)         (or save it under /etc/bash_completion.d/sluice)
  zsh:   source <(sluice completion zsh)          (or save it as _sluice on your $fpath)
  fish:  sluice completion fish | source          (or save it as ~/.config/fish/completions/sluice.fish)

examples:
  sluice completion bash > /etc/bash_completion.d/sluice
  sluice completion zsh > "\${fpath[1]}/_sluice"
`;

export function bashScript(verbs: string[]): string {
  return `# bash completion for sluice
_sluice() {
  local cur prev verb
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  verb="\${COMP_WORDS[1]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=( $(compgen -W "${verbs.join(' ')}" -- "$cur") ); return
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "${FLAGS.join(' ')}" -- "$cur") ); return
  fi
  case "$prev" in
    source|sources) COMPREPLY=( $(compgen -W "${SOURCES.join(' ')}" -- "$cur") ); return ;;
    completion) COMPREPLY=( $(compgen -W "bash zsh fish" -- "$cur") ); return ;;
    --kubeconfig|--path|--file|--kustomization-file) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
  esac
  if [[ $COMP_CWORD -eq 2 ]]; then
    case "$verb" in
      ${KIND_VERBS.join('|')}) COMPREPLY=( $(compgen -W "${KINDS.join(' ')}" -- "$cur") ) ;;
    esac
  fi
}
complete -o default -F _sluice sluice
`;
}

export function zshScript(verbs: string[]): string {
  return `#compdef sluice
# zsh completion for sluice
_sluice() {
  local -a verbs kinds sources flags
  verbs=(${verbs.join(' ')})
  kinds=(${KINDS.join(' ')})
  sources=(${SOURCES.join(' ')})
  flags=(${FLAGS.join(' ')})
  if (( CURRENT == 2 )); then
    _describe 'command' verbs; return
  fi
  if [[ "$words[CURRENT]" == -* ]]; then
    _describe 'flag' flags; return
  fi
  case "$words[CURRENT-1]" in
    source|sources) _describe 'source kind' sources; return ;;
    completion) _values 'shell' bash zsh fish; return ;;
    --kubeconfig|--path|--file|--kustomization-file) _files; return ;;
  esac
  if (( CURRENT == 3 )); then
    case "$words[2]" in
      ${KIND_VERBS.join('|')}) _describe 'kind' kinds; return ;;
    esac
  fi
  _files
}
compdef _sluice sluice
`;
}

export function fishScript(verbs: string[]): string {
  const lines = ['# fish completion for sluice', 'complete -c sluice -f'];
  lines.push(`complete -c sluice -n '__fish_use_subcommand' -a '${verbs.join(' ')}'`);
  lines.push(`complete -c sluice -n '__fish_seen_subcommand_from ${KIND_VERBS.join(' ')}; and not __fish_seen_subcommand_from ${KINDS.join(' ')}' -a '${KINDS.join(' ')}'`);
  lines.push(`complete -c sluice -n '__fish_seen_subcommand_from source sources' -a '${SOURCES.join(' ')}'`);
  lines.push(`complete -c sluice -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'`);
  for (const f of FLAGS) lines.push(`complete -c sluice -l ${f.slice(2)}`);
  lines.push('complete -c sluice -l kubeconfig -l path -l file -l kustomization-file -r -F');
  return `${lines.join('\n')}\n`;
}

export async function completionCommand(args: string[], verbs: string[]): Promise<number> {
  const [shell, ...rest] = args;
  if (shell === '--help' || shell === '-h') {
    process.stdout.write(usage);
    return 0;
  }
  const script = shell === 'bash' ? bashScript(verbs) : shell === 'zsh' ? zshScript(verbs) : shell === 'fish' ? fishScript(verbs) : undefined;
  if (!script || rest.length) {
    process.stderr.write(`sluice completion: ${shell ? `unknown shell "${shell}"` : 'missing shell'}: use bash, zsh or fish\n${usage}`);
    return 2;
  }
  process.stdout.write(script);
  return 0;
}
