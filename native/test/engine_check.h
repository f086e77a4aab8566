/* engine_check.h - a minimal assertion helper for the C tests (exit 1 on failure). */
#ifndef SL_TEST_CHECK_H
#define SL_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int sl_test_failures;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			if (sl_test_failures++ < 20)                                 \
				fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                    \
	} while (0)

#define CHECK_EQ(a, b)                                                                        \
	do {                                                                                  \
		long long _a = (long long)(a), _b = (long long)(b);                           \
		if (_a != _b) {                                                               \
			if (sl_test_failures++ < 20)                                          \
				fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, \
					__LINE__, #a, _a, #b, _b);                            \
		}                                                                             \
	} while (0)

#define TEST_DONE(name)                                                              \
	do {                                                                         \
		if (sl_test_failures) {                                              \
			fprintf(stderr, "%s: %d check(s) failed\n", name, sl_test_failures); \
			return 1;                                                    \
		}                                                                    \
		printf("%s: ok\n", name);                                            \
		return 0;                                                            \
	} while (0)

#endif
