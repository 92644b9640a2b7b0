#!/bin/bash
# check-valgrind.sh: run the tests that start backstop's daemons with every backstop program
# under valgrind (memcheck, definite leaks are errors), then fail if any valgrind log reports
# an error. The programs are wrapped, not the tests: a directory that looks like the build's
# src/ holds one script per program that execs valgrind on the real binary, and the tests
# are pointed at it with top_builddir. Needs: top_builddir, top_srcdir (set by make).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
tests=${VALGRIND_TESTS:-"milter/run.sh milter/hostile.sh unit/test-serve unit/srs-rewrite.sh unit/srs-hostile.sh"}
out="$top_builddir/tests/valgrind"
wrap="$out/wrap"
logs="$out/logs"
supp="$top_srcdir/tests/valgrind/backstop.supp"
rm -rf "$wrap" "$logs"
mkdir -p "$wrap/src" "$logs"
ln -s "$top_builddir/tests" "$wrap/tests"	# the tests' own helper programs, unwrapped

BACKSTOP_WRAPPER="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
BACKSTOP_WRAPPER="$BACKSTOP_WRAPPER --show-leak-kinds=definite --track-fds=no --num-callers=30"
BACKSTOP_WRAPPER="$BACKSTOP_WRAPPER --suppressions=$supp --log-file=$logs/%p.log"
export BACKSTOP_WRAPPER
for p in backstop-milter srs-rewrite backstop-keys backstop-replay; do
	printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$BACKSTOP_WRAPPER" \
	    "$top_builddir/src/$p" > "$wrap/src/$p"
	chmod 755 "$wrap/src/$p"
done

status=0
for t in $tests; do
	case $t in
	*.sh) cmd=(bash "$top_srcdir/tests/$t") ;;
	*) cmd=("$top_builddir/tests/$t") ;;
	esac
	log="$out/$(echo "$t" | tr / -).log"
	start=$(date +%s)
	top_builddir="$wrap" top_srcdir="$top_srcdir" "${cmd[@]}" > "$log" 2>&1
	rc=$?
	nok=$(grep -c '^not ok' "$log")
	total=$(grep -c '^ok\|^not ok' "$log")
	if [ "$rc" -ne 0 ] || [ "$nok" -ne 0 ]; then
		echo "check-valgrind: FAIL $t (exit $rc, $nok of $total failed; $log)"
		grep -A3 '^not ok\|^Bail out' "$log" | head -40
		status=1
	else
		echo "check-valgrind: PASS $t ($total tests, $(($(date +%s) - start)) s)"
	fi
done

runs=$(ls "$logs" | wc -l)
bad=$(grep -lE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$logs"/*.log 2>/dev/null)
if [ -n "$bad" ]; then
	for f in $bad; do echo "== $f"; cat "$f"; done | head -300
	echo "check-valgrind: valgrind reported errors in $(echo "$bad" | wc -l) of $runs runs"
	status=1
elif [ "$runs" -eq 0 ]; then
	echo "check-valgrind: no program ran under valgrind"
	status=1
else
	echo "check-valgrind: $runs program runs under valgrind, no error and no definite leak"
fi
exit "$status"
