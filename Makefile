# SPDX-License-Identifier: GPL-2.0-only
# xdpsec: quiet by default, V=1 shows the commands; everything generated
# goes into $(BUILD), which "make clean" removes.

BUILD ?= build
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine)

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
	-Wstrict-prototypes -Wcast-qual -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
XCFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -pthread \
	-Iinclude -Iuser -I$(BUILD) -MMD -MP
LDLIBS := -lxdp -lbpf -lelf -lz -lcrypto -lmnl -ljson-c -linih -pthread
# Intel's multi-buffer library does AES-GCM when its header is installed
# (see user/aead.c); IPSEC_MB=0 builds without it.
IPSEC_MB ?= $(if $(wildcard /usr/include/intel-ipsec-mb.h),1,0)
ifeq ($(IPSEC_MB),1)
XCFLAGS += -DXDPSEC_HAVE_IPSEC_MB
LDLIBS += -lIPSec_MB
endif
BPF_CFLAGS := -O2 -g -target bpf -Wall -Werror -Iinclude -I$(ARCH_INC)
# Fuzz targets are built with clang from their sources, sanitizers on.
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined $(WARN) -std=gnu11 -D_GNU_SOURCE \
	-Iinclude -Iuser
FUZZ_SECONDS ?= 600

LIB_SRCS := log aead mac esp ah replay config counters nexthop ip iphdr \
	icmp frag ike_ke ike_keys ike_sk ike_msg ike_conf ike_cert
DAEMON_SRCS := xdpsecd xsk worker sad spd ctl host natt ike_sock ike_sa ike \
	nametab
CLI_SRCS := xdpsec
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

LIB_OBJS := $(LIB_SRCS:%=$(BUILD)/user/%.o)
DAEMON_OBJS := $(DAEMON_SRCS:%=$(BUILD)/user/%.o)
CLI_OBJS := $(CLI_SRCS:%=$(BUILD)/user/%.o)
LIBXDPSEC := $(BUILD)/libxdpsec.a
SKEL := $(BUILD)/xdpsec.skel.h
XDP_PASS := $(BUILD)/bpf/xdp_pass.bpf.o
BINS := $(BUILD)/xdpsecd $(BUILD)/xdpsec
TEST_BINS := $(UNIT_TESTS:%=$(BUILD)/tests/%) $(BUILD)/tests/test_xdp
FUZZ_BINS := $(BUILD)/fuzz/fuzz_ike_msg

.DELETE_ON_ERROR:
.PHONY: all clean test demo deps tests format fuzz bench-crypto bench \
	bench-mq bench-sa

all: $(BINS)

tests: $(TEST_BINS) $(FUZZ_BINS)

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c include/xdpsec_common.h | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/user/%.o: user/%.c | $(BUILD)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(XCFLAGS) -c $< -o $@

$(DAEMON_OBJS): $(SKEL)

$(LIBXDPSEC): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(BUILD)/xdpsecd: $(DAEMON_OBJS) $(LIBXDPSEC)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/xdpsec: $(CLI_OBJS) $(LIBXDPSEC)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%.o: tests/unit/%.c | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(XCFLAGS) -Itests/unit -c $< -o $@

$(BUILD)/tests/test_xdp.o: tests/bpf/test_xdp.c $(SKEL) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(XCFLAGS) -Itests/unit -c $< -o $@

# Each test links only the modules it exercises, so that one module can be
# tested while another is still being written.
uobjs = $(patsubst %,$(BUILD)/user/%.o,$(1))
TEST_OBJS_test_aead := $(call uobjs,aead log)
TEST_OBJS_test_replay := $(call uobjs,replay)
TEST_OBJS_test_esp := $(call uobjs,esp iphdr aead mac log)
TEST_OBJS_test_mac := $(call uobjs,mac)
TEST_OBJS_test_ah := $(call uobjs,ah iphdr mac)
TEST_OBJS_test_icmp := $(call uobjs,icmp ip)
TEST_OBJS_test_frag := $(call uobjs,frag)
TEST_OBJS_test_config := $(call uobjs,config ike_conf ike_cert ike_ke \
	ike_msg aead mac log)
TEST_OBJS_test_nexthop := $(call uobjs,nexthop log)
TEST_OBJS_test_ike_ke := $(call uobjs,ike_ke)
TEST_OBJS_test_ike_keys := $(call uobjs,ike_keys)
TEST_OBJS_test_ike_sk := $(call uobjs,ike_sk aead mac log)
TEST_OBJS_test_ike_msg := $(call uobjs,ike_msg)
TEST_OBJS_test_xdp := $(call uobjs,counters)
TEST_OBJS_test_nametab := $(call uobjs,nametab)
TEST_OBJS_test_spd := $(call uobjs,spd nametab config ike_conf ike_cert \
	ike_ke ike_msg aead mac log)

# The crypto benchmark links ESP like the ESP test does.  Intel's
# multi-buffer library adds columns when it is built in.
BENCH_SRCS := bench_crypto bench_esp bench_evp
ifeq ($(IPSEC_MB),1)
BENCH_SRCS += bench_ipsecmb
endif
BENCH_OBJS := $(BENCH_SRCS:%=$(BUILD)/bench/%.o) \
	$(call uobjs,esp iphdr aead mac log)

.SECONDEXPANSION:
$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $$(TEST_OBJS_test_$$*)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/bench/%.o: tests/bench/%.c | $(BUILD)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(XCFLAGS) -c $< -o $@

$(BUILD)/bench/bench_crypto: $(BENCH_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) $^ -o $@ $(LDLIBS)

# A daemon for benchmarks only, which frames ESP but does no cipher work
# (see user/aead.c): an aead.o of its own, the other objects shared.
NOCRYPTO_AEAD := $(BUILD)/nocrypto/user/aead.o
NOCRYPTO := $(BUILD)/nocrypto/xdpsecd

$(NOCRYPTO_AEAD): user/aead.c | $(BUILD)/nocrypto/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(XCFLAGS) -DXDPSEC_NO_CRYPTO -c $< -o $@

$(NOCRYPTO): $(DAEMON_OBJS) $(filter-out %/aead.o,$(LIB_OBJS)) \
		$(NOCRYPTO_AEAD)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XCFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/fuzz/fuzz_ike_msg: tests/fuzz/fuzz_ike_msg.c user/ike_msg.c \
		user/ike_msg.h | $(BUILD)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(filter %.c,$^) -o $@

$(BUILD)/bpf $(BUILD)/user $(BUILD)/tests $(BUILD)/fuzz $(BUILD)/bench \
		$(BUILD)/nocrypto/user:
	$(Q)mkdir -p $@

deps:
	$(Q)scripts/install-deps.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all tests
	$(Q)BUILD=$(BUILD) tests/run.sh

# Fuzzes for FUZZ_SECONDS; the corpus grows in $(BUILD)/fuzz from the seeds,
# and a crash leaves its reproducer there.
fuzz: $(FUZZ_BINS)
	$(Q)mkdir -p $(BUILD)/fuzz/corpus
	$(Q)cp tests/fuzz/corpus/ike_msg/* $(BUILD)/fuzz/corpus/
	$(Q)$(BUILD)/fuzz/fuzz_ike_msg -max_total_time=$(FUZZ_SECONDS) \
		-artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus

# Not part of "make test": it measures, it does not check behaviour.
# BENCH_ARGS passes options, e.g. BENCH_ARGS="-r 7 -t 0.5".
bench-crypto: $(BUILD)/bench/bench_crypto
	$(Q)$< -o $(BUILD)/bench/crypto.json $(BENCH_ARGS)

# Throughput through the namespace topology, with and without xdpsec; not
# part of "make test" either.  BENCH_QUICK=1 makes a short smoke run.
bench: deps
	$(Q)$(MAKE) --no-print-directory all $(XDP_PASS) $(NOCRYPTO)
	$(Q)BUILD=$(BUILD) scripts/bench.sh

# One worker per queue: 1 against 2 queues per veth, one busy SA.
# BENCH_PERF=1 adds a perf profile of the daemons, built into $(BUILD)/prof
# with small and called-once functions kept out of line so that sequence
# numbers and the replay window show under their own names.  Inlining
# differently makes flow-sensitive warnings differ: they stay warnings there.
PROF_CFLAGS := -O2 -g -fno-omit-frame-pointer -fno-inline-small-functions \
	-fno-inline-functions-called-once
bench-mq: deps
	$(Q)$(MAKE) --no-print-directory all
ifeq ($(BENCH_PERF),1)
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/prof \
		CFLAGS="$(PROF_CFLAGS)" WARN="$(WARN) -Wno-error" all
endif
	$(Q)BUILD=$(BUILD) BENCH_PERF=$(BENCH_PERF) scripts/bench_mq.sh

# SA scale: install rate, memory per SA and TCP throughput with 1, 1000
# and 100000 SA pairs installed (scripts/bench_sa.sh); JSON in
# $(BUILD)/bench/sa.json.  Not part of "make test" either.
bench-sa: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) scripts/bench_sa.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

format:
	$(Q)clang-format -i bpf/*.c user/*.c user/*.h include/*.h

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
