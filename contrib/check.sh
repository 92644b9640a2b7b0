#!/bin/bash
# Build backstop from this tree and run the whole test suite (unit, milter, end to end).
# Fails if any test failed or was skipped: every dependency is installed, never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f config.status ]; then
	echo "check: this source tree is configured in place (./configure was run here), and" \
	    "configure refuses a second build beside it: run 'make distclean' here first" >&2
	exit 1
fi
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
rm -rf _build
mkdir _build
cd _build
../configure --enable-werror >/dev/null
make -j2 >/dev/null
status=0
make -j2 check || status=$?
for log in $(find tests -name '*.log' ! -name test-suite.log); do
	if grep -q '^SKIP:' "${log%.log}.trs" 2>/dev/null || grep -q '^:test-result: SKIP' "${log%.log}.trs" 2>/dev/null; then
		echo "check: $log was skipped; skips are failures here" >&2
		status=1
	fi
done
if [ "$status" -ne 0 ]; then
	cat tests/test-suite.log >&2 || true
	exit "$status"
fi
pass=$(cat $(find tests -name '*.trs') | grep -c '^:test-result: PASS' || true)
fail=$(cat $(find tests -name '*.trs') | grep -c '^:test-result: FAIL' || true)
echo "check: $pass passed, $fail failed"
