/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef XDPSEC_COUNTERS_H
#define XDPSEC_COUNTERS_H

#include "xdpsec_common.h"

/* The name of a counter ("drop_no_sa"), or NULL for an unknown index. */
const char *counter_name(unsigned int idx);

#endif /* XDPSEC_COUNTERS_H */
