# Sourced by the tests that mount (handover.sh, merge.sh): runs the calling
# script again as "SCRIPT BIN --in-namespace DIR" in a private mount
# namespace with a fresh directory, and exits with its result. Root only.
# usage: in_namespace NAME BIN; inside, ok DESC / bad DESC report a check
# (bad sets fail=1).
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }

in_namespace() {
	if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1; then
		echo "skip $1: needs root and unshare"
		exit 0
	fi
	T=$(mktemp -d)
	trap 'rm -rf "$T"' EXIT
	trap 'exit 1' INT TERM
	rc=0
	unshare -m --propagation private sh "$0" "$2" --in-namespace "$T" || rc=1
	echo "$1: $([ $rc = 0 ] && echo passed || echo FAILED)"
	exit $rc
}
