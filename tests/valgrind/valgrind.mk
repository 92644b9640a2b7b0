# make check-valgrind (included by tests/Makefile.am): the tests that start backstop's daemons,
# with every backstop program under valgrind memcheck; any error or definite leak fails.
VALGRIND_TESTS = milter/run.sh milter/hostile.sh unit/test-serve unit/srs-rewrite.sh \
	unit/srs-hostile.sh
EXTRA_DIST += valgrind/valgrind.mk valgrind/check-valgrind.sh valgrind/backstop.supp

.PHONY: check-valgrind
check-valgrind:
	cd $(top_builddir)/src && $(MAKE) $(AM_MAKEFLAGS) all
	$(MAKE) $(AM_MAKEFLAGS) $(check_PROGRAMS)
	top_builddir='$(abs_top_builddir)' top_srcdir='$(abs_top_srcdir)' \
	  VALGRIND_TESTS='$(VALGRIND_TESTS)' bash $(srcdir)/valgrind/check-valgrind.sh
