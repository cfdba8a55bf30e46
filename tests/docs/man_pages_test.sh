#!/usr/bin/env bash
# man_pages_test.sh NETD NETCTL SOURCE_DIR BUILD_DIR — fails, naming what is missing, when:
# an option in `squib-netd --help`, `squib-netctl --help` or `squib-netctl CMD --help` is not
# in its man page source (docs/man/*.scd, as *--option*); a squib-netctl command has no entry
# (a line starting *CMD*); the generated pages are missing; or `cmake --install` of the build
# does not install the pages and the bash completion.
set -euo pipefail
netd=$1 netctl=$2 source=$3 build=$4
netd_page=$source/docs/man/squib-netd.8.scd
netctl_page=$source/docs/man/squib-netctl.8.scd
missing=()

# Long options of one --help text (CLI11: option lines start with spaces, then -x, or --).
options_of() { "$@" --help | grep -oE '^ +(-[A-Za-z],)?--[a-z][a-z0-9-]*' | sed 's/^.*--/--/' | sort -u; }
require_option() {  # PAGE OPTION CONTEXT
    grep -qF -- "*$2*" "$1" || missing+=("$3: $2 is not in $(basename "$1")")
}

for option in $(options_of "$netd"); do require_option "$netd_page" "$option" "squib-netd"; done
for option in $(options_of "$netctl"); do require_option "$netctl_page" "$option" "squib-netctl"; done
commands=$("$netctl" --help | sed -n '/^Subcommands:/,$s/^  \([a-z][a-z-]*\) .*/\1/p')
[[ -n $commands ]] || missing+=("no commands found in squib-netctl --help")
for command in $commands; do
    # "*stop* _NAME_", or for a command with its own commands "*network create* _NAME_".
    grep -qE "^\*${command}[* ]" "$netctl_page" || missing+=("squib-netctl $command has no entry in squib-netctl.8.scd")
    for option in $(options_of "$netctl" "$command"); do
        require_option "$netctl_page" "$option" "squib-netctl $command"
    done
    # A command's own commands (network create|delete|list): each an entry, each option documented.
    for sub in $("$netctl" "$command" --help | sed -n '/^Subcommands:/,$s/^  \([a-z][a-z-]*\) .*/\1/p'); do
        grep -qE "^\*$command $sub\*" "$netctl_page" || missing+=("squib-netctl $command $sub has no entry in squib-netctl.8.scd")
        for option in $(options_of "$netctl" "$command" "$sub"); do
            require_option "$netctl_page" "$option" "squib-netctl $command $sub"
        done
    done
done

for page in squib-netd.8 squib-netctl.8; do
    grep -q '^\.TH' "$build/man/$page" 2>/dev/null || missing+=("$build/man/$page was not generated (scdoc)")
done
prefix=$(mktemp -d /tmp/squib-man-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
for installed in share/man/man8/squib-netd.8 share/man/man8/squib-netctl.8 share/bash-completion/completions/squib-netctl; do
    [[ -s $prefix/$installed ]] || missing+=("cmake --install did not install $installed")
done

if ((${#missing[@]} > 0)); then
    printf 'FAIL: %s\n' "${missing[@]}"
    exit 1
fi
echo "man pages match --help: $(wc -w <<<"$commands") commands, every option documented; pages and completion install"
