import { COMMANDS, GLOBAL_OPTIONS } from './commands.ts';

/** The first words (`firmware`, `rollout`, ..., `alerts`), in table order. */
function groups(): string[] {
  return [...new Set(COMMANDS.map((c) => c.path.split(' ')[0] as string))];
}

/**
 * A bash completion script for `fleetkit` (an alias of `npm run -s cli --`, or the installed bin):
 * commands, then subcommands, then the options of the command typed so far. Static — no round trip to
 * Node on every tab — and generated from the same command table the CLI dispatches on.
 */
export function bashCompletion(name = 'fleetkit'): string {
  const subcommands = groups()
    .map((group) => {
      const subs = COMMANDS.filter((c) => c.path.startsWith(`${group} `)).map((c) => c.path.split(' ')[1]);
      return subs.length === 0 ? '' : `    ${group}) words="${subs.join(' ')}" ;;`;
    })
    .filter((line) => line !== '')
    .join('\n');
  const options = COMMANDS.map(
    (c) => `    "${c.path}") opts="${[...c.options, ...GLOBAL_OPTIONS].map((o) => `--${o}`).join(' ')}" ;;`,
  ).join('\n');
  return `# ${name} completion for bash (and zsh with bashcompinit). Install:
#   npm run -s cli -- completion bash > ~/.local/share/bash-completion/completions/${name}
# or add to ~/.bashrc:  source <(npm run -s cli -- completion bash)
_${name}_complete() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  local -a args=()
  local i
  for ((i = 1; i < COMP_CWORD; i++)); do
    [[ \${COMP_WORDS[i]} == -* ]] || args+=("\${COMP_WORDS[i]}")
  done
  local words="" opts=""
  case "\${args[0]} \${args[1]}" in
${options}
  esac
  [[ -z $opts ]] && case "\${args[0]}" in
${COMMANDS.filter((c) => !c.path.includes(' '))
  .map((c) => `    ${c.path}) opts="${[...c.options, ...GLOBAL_OPTIONS].map((o) => `--${o}`).join(' ')}" ;;`)
  .join('\n')}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "\${opts:-${GLOBAL_OPTIONS.map((o) => `--${o}`).join(' ')}}" -- "$cur"))
    return
  fi
  if ((\${#args[@]} == 0)); then
    words="${groups().join(' ')}"
  elif ((\${#args[@]} == 1)); then
    case "\${args[0]}" in
${subcommands}
    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _${name}_complete ${name}
`;
}

/** The same for zsh, through its bash completion layer (bashcompinit). */
export function zshCompletion(name = 'fleetkit'): string {
  return `# ${name} completion for zsh. Add to ~/.zshrc:  source <(npm run -s cli -- completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(name)}`;
}
