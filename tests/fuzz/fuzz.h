/* fuzz: what every libFuzzer target shares. Each target defines one entry point
 * "int fuzz_NAME(const uint8_t *, size_t)" and FUZZ_ENTRY(fuzz_NAME); built with
 * -DFUZZ_LIBFUZZER it becomes LLVMFuzzerTestOneInput, otherwise the regression test
 * (tests/unit/test-fuzz-regress.c) links every target and calls the entry points itself. */
#ifndef BACKSTOP_FUZZ_H
#define BACKSTOP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "keyring.h"

/* The fixed time of every target: 2020-01-01T00:01:00Z, day 18262 (the vectors' "now"). */
#define FUZZ_NOW 1577836860

/* FUZZ_CHECK - an invariant of the code under test; a violation aborts, which libFuzzer
 * and the regression test both report as a failure. */
#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

#ifdef FUZZ_LIBFUZZER
#define FUZZ_ENTRY(fn) \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fn(data, size); }
#else
#define FUZZ_ENTRY(fn)
#endif

/* fuzz_keyring - the fixed keyring: the vectors' two keys in slots 0 and 7, built once */
const struct keyring *fuzz_keyring(void);

/* The entry points, for the regression test. */
int fuzz_addr(const uint8_t *data, size_t size);
int fuzz_cidr(const uint8_t *data, size_t size);
int fuzz_prvs(const uint8_t *data, size_t size);
int fuzz_srs_forward(const uint8_t *data, size_t size);
int fuzz_srs_reverse(const uint8_t *data, size_t size);
int fuzz_conf(const uint8_t *data, size_t size);
int fuzz_keyfile(const uint8_t *data, size_t size);
int fuzz_socketmap(const uint8_t *data, size_t size);
int fuzz_tcp_table(const uint8_t *data, size_t size);
int fuzz_rcpt(const uint8_t *data, size_t size);
int fuzz_legacy_secrets(const uint8_t *data, size_t size);
int fuzz_msgclass(const uint8_t *data, size_t size);

#endif
