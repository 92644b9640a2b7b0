# tap.sh: the TAP helpers of the end-to-end scripts (sourced after lib.sh). A script may
# define its own check after sourcing this one (postfix.sh does, for TODO items).
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
# check DESC COND: one TAP line; a failure shows COND
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; echo "#   failed: $2"; fi; }
bail() { echo "Bail out! $*"; failed=1; exit 1; }
# need TOOL...: bail out unless each tool is on PATH or in /usr/sbin
need() {
	local t
	for t; do
		command -v "$t" > /dev/null || [ -x "/usr/sbin/$t" ] ||
			{ echo "Bail out! $t is missing: run contrib/install-deps.sh"; exit 1; }
	done
}
