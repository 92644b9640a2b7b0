# tap.sh: TAP helpers for the shell tests of the programs, sourced after the script sets
# prog (the program under test), tmp (its scratch directory) and now (BACKSTOP_NOW).
# Prints "ok N"/"not ok N" lines; tap_done prints the plan and gives the exit status.

n=0
failed=0

pass() {
	n=$((n + 1))
	echo "ok $n - $1"
}

fail() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
}

# is GOT WANT NAME
is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
	fi
}

# contains FILE TEXT NAME
contains() {
	if grep -F -q -- "$2" "$1"; then
		pass "$3"
	else
		fail "$3"
		printf '#   %s does not contain: %s\n' "$1" "$2"
		sed 's/^/#   | /' "$1"
	fi
}

# run ARG... : the program at BACKSTOP_NOW=$now; sets rc, out (its output as text) and
# leaves its standard output and error in $tmp/out and $tmp/err
run() {
	BACKSTOP_NOW=$now "$prog" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
}

# tap_done: the plan, and the exit status of the whole script
tap_done() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
}
