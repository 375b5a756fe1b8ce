/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An XDP program that passes every frame to the kernel.  The benchmark
 * attaches it to the gateways to measure what attaching any XDP program
 * costs on its own: on veth it turns off GRO and TSO, so kernel forwarding
 * with this program is the honest ceiling for xdpsec's data path.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}
