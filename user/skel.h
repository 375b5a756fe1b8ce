/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The skeleton bpftool generates from bpf/xdpsec.bpf.c.  Its generated code
 * casts away const, which our warnings refuse; it is not ours to fix.
 */
#ifndef XDPSEC_SKEL_H
#define XDPSEC_SKEL_H

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include "xdpsec.skel.h"
#pragma GCC diagnostic pop

#endif /* XDPSEC_SKEL_H */
