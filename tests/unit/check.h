/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A minimal test harness: CHECK() counts a pass or prints the failure,
 * check_summary() prints "N passed, N failed" and gives the exit code.
 */
#ifndef XDPSEC_CHECK_H
#define XDPSEC_CHECK_H

#include <stdio.h>

static int check_passed;
static int check_failed;

#define CHECK(cond, ...)						\
	do {								\
		if (cond) {						\
			check_passed++;					\
		} else {						\
			check_failed++;					\
			printf("FAIL %s:%d: ", __FILE__, __LINE__);	\
			printf(__VA_ARGS__);				\
			printf("\n");					\
		}							\
	} while (0)

static inline int check_summary(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif /* XDPSEC_CHECK_H */
