// SPDX-License-Identifier: GPL-2.0-only
#include <stddef.h>

#include "counters.h"

#define COUNTER_NAME(name, str) [XDPSEC_CNT_##name] = str,
static const char *const counter_names[XDPSEC_CNT_MAX] = {
	[XDPSEC_CNT_OK] = "ok",
	XDPSEC_COUNTERS(COUNTER_NAME)
};
#undef COUNTER_NAME

const char *counter_name(unsigned int idx)
{
	return idx < XDPSEC_CNT_MAX ? counter_names[idx] : NULL;
}
