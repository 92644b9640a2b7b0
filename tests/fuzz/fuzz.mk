# libFuzzer targets (included by tests/Makefile.am). "make fuzz" builds them with clang and
# -fsanitize=fuzzer,address,undefined; the library sources they test are compiled again here
# with the same flags, outside libtool. "make fuzz-smoke" runs each for FUZZ_TIME seconds,
# FUZZ_JOBS at a time, and fails on any crash, leak, timeout or broken invariant.
FUZZ_TARGETS = addr cidr prvs srs-forward srs-reverse conf keyfile socketmap tcp-table rcpt \
	legacy-secrets
FUZZ_TARGETS += msgclass
FUZZ_TIME = 60
FUZZ_JOBS = 2
FUZZ_SANITIZE = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer $(SODIUM_CFLAGS) $(NETTLE_CFLAGS) -pthread \
	-I$(top_builddir) -I$(top_srcdir)/src -I$(srcdir)/fuzz
fuzz_lib_sources = addr cidr clock conf daemon keyfile keyring listenaddr log mapcodec \
	mapserver policy prvs srs srs-legacy
fuzz_lib_sources += msgclass
fuzz_common_sources = fuzz/fuzz-keyring.c fuzz/fuzz-srs-params.c
fuzz_target_sources = fuzz/fuzz-addr.c fuzz/fuzz-cidr.c fuzz/fuzz-prvs.c \
	fuzz/fuzz-srs-forward.c fuzz/fuzz-srs-reverse.c fuzz/fuzz-conf.c fuzz/fuzz-keyfile.c \
	fuzz/fuzz-socketmap.c fuzz/fuzz-tcp-table.c fuzz/fuzz-rcpt.c fuzz/fuzz-legacy-secrets.c
fuzz_target_sources += fuzz/fuzz-msgclass.c

EXTRA_DIST += fuzz/fuzz.mk fuzz/README.md fuzz/corpus fuzz/regress

.PHONY: fuzz fuzz-smoke fuzz-clean
fuzz:
	@if test "x$(FUZZ_CC)" = xno || test -z "$(FUZZ_CC)"; then \
	  echo "make fuzz: clang not found; install clang and libclang-rt-14-dev, re-run configure" >&2; \
	  exit 1; fi
	$(AM_V_at)$(MKDIR_P) fuzz/obj
	$(AM_V_GEN)for m in $(fuzz_lib_sources); do \
	  $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	    -fno-sanitize-recover=undefined -c $(top_srcdir)/src/$$m.c -o fuzz/obj/$$m.o || exit 1; \
	done; \
	for f in $(fuzz_common_sources); do \
	  $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	    -fno-sanitize-recover=undefined -c $(srcdir)/$$f -o fuzz/obj/`basename $$f .c`.o || exit 1; \
	done; \
	for t in $(FUZZ_TARGETS); do \
	  $(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SANITIZE) -DFUZZ_LIBFUZZER -o fuzz/fuzz-$$t \
	    $(srcdir)/fuzz/fuzz-$$t.c fuzz/obj/*.o $(SODIUM_LIBS) $(NETTLE_LIBS) -pthread || exit 1; \
	done
	@echo "make fuzz: built fuzz/fuzz-{`echo $(FUZZ_TARGETS) | tr ' ' ,`}"

# One target's run: new inputs go to fuzz/work/TARGET, crashes to fuzz/crash-TARGET-*.
fuzz_run = run() { \
	  t=$$1; $(MKDIR_P) fuzz/work/$$t; \
	  if ./fuzz/fuzz-$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
	      -print_final_stats=1 -artifact_prefix=fuzz/crash-$$t- \
	      fuzz/work/$$t $(srcdir)/fuzz/corpus/$$t > fuzz/$$t.log 2>&1; then \
	    echo "fuzz-smoke: $$t ok: `grep -E '^stat::number_of_executed_units' fuzz/$$t.log | \
	      sed 's/.*: *//'` runs in $(FUZZ_TIME) s"; \
	  else echo "fuzz-smoke: $$t FAILED (fuzz/$$t.log):"; tail -40 fuzz/$$t.log; return 1; fi; }

fuzz-smoke: fuzz
	@$(fuzz_run); \
	status=0; pids=; running=0; \
	for t in $(FUZZ_TARGETS); do \
	  ( run $$t ) & pids="$$pids $$!"; running=`expr $$running + 1`; \
	  if test $$running -ge $(FUZZ_JOBS); then \
	    for p in $$pids; do wait $$p || status=1; done; pids=; running=0; fi; \
	done; \
	for p in $$pids; do wait $$p || status=1; done; \
	if test $$status -ne 0; then echo "fuzz-smoke: crashes found (inputs: fuzz/crash-*)"; fi; \
	exit $$status

fuzz-clean:
	rm -rf fuzz/obj fuzz/work fuzz/*.log
	for t in $(FUZZ_TARGETS); do rm -f fuzz/fuzz-$$t; done

clean-local: fuzz-clean
