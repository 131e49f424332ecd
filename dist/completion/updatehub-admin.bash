# Bash completion for updatehub-admin: its commands, subcommands and options, and file names
# where a file is expected. Installed as share/bash-completion/completions/updatehub-admin;
# or source it from ~/.bashrc.

_updatehub_admin() {
  local cur prev word command="" sub="" i
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev=""
  ((COMP_CWORD > 0)) && prev="${COMP_WORDS[COMP_CWORD - 1]}"
  COMPREPLY=()

  local global="--server --token --json --cacert --insecure --connect-timeout --timeout
                --help --version"
  local definition="--product --file --package --name --stage --threshold --min-attempted
                    --rate --start-at --window --device --hardware --from-version --identity
                    --attribute --wait-for-devices"

  # The command and subcommand typed so far, skipping options and their values.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="${COMP_WORDS[i]}"
    case "$word" in
      --server | --token | --cacert | --connect-timeout | --timeout | -p | --product | -f | \
        --file | --package | --name | --stage | --threshold | --min-attempted | --rate | \
        --start-at | --window | --device | --hardware | --from-version | --identity | \
        --attribute | --state | --interval | --uid | -u | --user | --version | --seen-before | \
        --seen-after | --rollout-state | --limit | --after | --actor | --action | --since | \
        --until | --before)
        [[ "$word" == --version && -z "$command" ]] || ((i++))
        ;;
      -*) ;;
      *)
        if [[ -z "$command" ]]; then
          command="$word"
        elif [[ -z "$sub" ]]; then
          sub="$word"
        fi
        ;;
    esac
  done

  # Values of options.
  case "$prev" in
    --cacert | -f | --file)
      COMPREPLY=($(compgen -f -- "$cur"))
      return
      ;;
    --rollout-state)
      COMPREPLY=($(compgen -W "pending downloading installing rebooting updated failed none" -- "$cur"))
      return
      ;;
    --state)
      COMPREPLY=($(compgen -W "pending downloading installing rebooting updated failed" -- "$cur"))
      return
      ;;
    --server)
      COMPREPLY=($(compgen -W "https:// http://" -- "$cur"))
      return
      ;;
    --token | --connect-timeout | --timeout | -p | --product | --package | --name | --stage | \
      --threshold | --min-attempted | --rate | --start-at | --window | --device | --hardware | \
      --from-version | --identity | --attribute | --interval | --uid | -u | --user | \
      --seen-before | --seen-after | --limit | --after | --actor | --action | --since | \
      --until | --before)
      return
      ;;
  esac

  local words=""
  case "$command" in
    "")
      words="login logout products keys packages rollouts devices device audit $global"
      ;;
    login) words="--user --password-stdin --help" ;;
    logout) words="--help" ;;
    products)
      case "$sub" in
        "") words="list create --help" ;;
        create) words="--uid --help" ;;
        *) words="--help" ;;
      esac
      ;;
    keys)
      case "$sub" in
        "") words="list add delete --help" ;;
        list) words="--product --help" ;;
        add)
          words="--product --name --help"
          [[ "$cur" != -* ]] && COMPREPLY=($(compgen -f -- "$cur"))
          ;;
        *) words="--help" ;;
      esac
      ;;
    packages)
      case "$sub" in
        "") words="list show upload delete --help" ;;
        list) words="--product --help" ;;
        upload)
          words="--help"
          [[ "$cur" != -* ]] && COMPREPLY=($(compgen -f -X '!*.uhupkg' -- "$cur") $(compgen -d -- "$cur"))
          ;;
        *) words="--help" ;;
      esac
      ;;
    rollouts)
      case "$sub" in
        "") words="list create preview show watch pause resume advance stop start retry devices --help" ;;
        list) words="--product --archived --help" ;;
        create | preview) words="$definition --help" ;;
        watch) words="--interval --help" ;;
        resume) words="--threshold --help" ;;
        devices) words="--state --after --help" ;;
        *) words="--help" ;;
      esac
      ;;
    devices | device)
      case "$sub" in
        show) words="--help" ;;
        *)
          words="show --product --hardware --version --identity --attribute --seen-before
                 --seen-after --rollout-state --limit --after --all --help"
          ;;
      esac
      ;;
    audit)
      words="--actor --action --since --until --before --limit --csv --help"
      ;;
  esac
  if [[ "$cur" == -* && -n "$command" ]]; then
    words="$words $global"
  fi
  COMPREPLY+=($(compgen -W "$words" -- "$cur"))
}

complete -F _updatehub_admin updatehub-admin
