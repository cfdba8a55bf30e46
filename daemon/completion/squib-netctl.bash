# bash completion for squib-netctl (installed as share/bash-completion/completions/squib-netctl).
#
# Commands and their options are read from `squib-netctl --help` and `squib-netctl CMD --help`
# on each TAB, so completion never lags behind the binary; attachment names come from the
# running daemon (`squib-netctl --json list`, with the --control of the command line being
# typed), so each user sees only the attachments the daemon shows them. zsh users:
# `autoload -U bashcompinit && bashcompinit && source` this file.

# The attachment names the daemon lists for this caller: the "name" keys of `--json list`'s
# array items (printed one per line, indented 4; names are [A-Za-z0-9_.-], so no JSON parser
# is needed here).
_squib_netctl_names() {
    "$1" "${@:2}" --json list 2>/dev/null | grep -oE '^    "name": "[A-Za-z0-9_.-]+"' | cut -d'"' -f4
}

# The long options an --help text lists (CLI11's layout: option lines start with spaces).
_squib_netctl_options() {
    "$@" --help 2>/dev/null | grep -oE '^ +(-[A-Za-z],)?--[a-z][a-z0-9-]*' | sed 's/^.*--/--/'
}

_squib_netctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local program=${COMP_WORDS[0]} command='' positionals=0 i word
    local -a global=()
    COMPREPLY=()

    # The command word, the global options before it (kept for the daemon queries), and how
    # many positionals follow it.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ -z $command ]]; then
            case $word in
                --control) global+=(--control "${COMP_WORDS[i+1]}"); ((i++)) ;;
                --control=*) global+=("$word") ;;
                -*) global+=("$word") ;;
                *) command=$word ;;
            esac
        elif [[ $word == -- ]]; then
            return 0  # the command to --exec: nothing of ours to complete
        elif [[ $word != -* && ${COMP_WORDS[i-1]} != --@(mode|mac|mtu|network|bridge|subnet|subnet6|address|domain|userspace|userspace-path|userspace-arg|framing|forward|handoff|queues|count|interval|stats|snaplen|direction|write) ]]; then
            ((positionals++))
        fi
    done

    case $prev in
        --control) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
        --mode) COMPREPLY=($(compgen -W 'shared host bridged userspace' -- "$cur")); return 0 ;;
        --handoff) COMPREPLY=($(compgen -W 'tap fd' -- "$cur")); return 0 ;;
        --framing) COMPREPLY=($(compgen -W 'qemu vfkit' -- "$cur")); return 0 ;;
        --userspace) COMPREPLY=($(compgen -W 'passt gvproxy' -- "$cur")); return 0 ;;
        --direction) COMPREPLY=($(compgen -W 'in out both' -- "$cur")); return 0 ;;
        --userspace-path|-w|--write) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
    esac

    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$(_squib_netctl_options "$program")" -- "$cur"))
        else
            local commands
            commands=$("$program" --help 2>/dev/null | sed -n '/^Subcommands:/,$s/^  \([a-z][a-z-]*\) .*/\1/p')
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return 0
    fi

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_squib_netctl_options "$program" "$command")" -- "$cur"))
        return 0
    fi
    # The first positional of commands about an existing attachment is its name.
    case $command in
        events)  # any number of names
            COMPREPLY=($(compgen -W "$(_squib_netctl_names "$program" "${global[@]}")" -- "$cur"))
            ;;
        network)  # its subcommand, then (delete) a network name
            if ((positionals == 0)); then
                COMPREPLY=($(compgen -W 'create delete list' -- "$cur"))
            elif [[ ${COMP_WORDS[*]} == *" delete "* ]] && ((positionals == 1)); then
                COMPREPLY=($(compgen -W "$("$program" "${global[@]}" --json network list 2>/dev/null |
                    grep -oE '^    "name": "[A-Za-z0-9_.-]+"' | cut -d'"' -f4)" -- "$cur"))
            fi
            ;;
        stop|restart|stats|forward|unforward|capture|resolve)
            if ((positionals == 0)); then
                COMPREPLY=($(compgen -W "$(_squib_netctl_names "$program" "${global[@]}")" -- "$cur"))
            elif [[ $command == @(forward|unforward) ]] && ((positionals == 1)); then
                COMPREPLY=($(compgen -W 'tcp udp' -- "$cur"))
            fi
            ;;
    esac
    return 0
}

complete -F _squib_netctl squib-netctl
