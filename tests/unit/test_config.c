// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of the configuration parser: a complete file, then one file per
 * error, each checked for the line number and the words of its message.
 * Files and keys live in a private directory under /tmp.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "ike_conf.h"
#include "ike_msg.h"

static char tmpdir[] = "/tmp/xdpsec-test-config.XXXXXX";

/* 16-byte AES-128 key followed by the 4-byte salt. */
static const char key128_hex[] = "000102030405060708090a0b0c0d0e0f"
				 "a0a1a2a3\n";
/* 32-byte AES-256 key and salt, spread over lines with blanks. */
static const char key256_hex[] =
	"10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D 1E 1F\n"
	"20212223242526272829 2a2b2c2d2e2f\n"
	"  b0b1b2b3  \n";

/* Pre-shared keys: a passphrase, and 24 bytes in hex over two lines. */
static const char psk_text[] = "correct horse battery staple";
static const char psk_hex[] = "0x 00112233445566778899aabbccddeeff\n"
			      "  0123456789ABCDEF\n";
/* Shorter than CONN_PSK_MIN; it must never show in a message. */
static const char psk_short[] = "tiny-pw";

/* Key files keys/kN.key of these lengths hold key_byte(N, 0..N-1). */
static const size_t key_lens[] = { 20, 32, 36, 48, 64, 80, 96, 101 };

static uint8_t key_byte(size_t len, size_t i)
{
	return (uint8_t)(len * 31 + i * 7);
}

static int write_file(const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];
	size_t len = strlen(text);
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fchmod(fd, mode))
		rc = -EIO;
	close(fd);
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int write_keys(void)
{
	char name[32], hex[2 * CONFIG_KEY_MAX + 16];
	size_t len, off;

	for (size_t k = 0; k < sizeof(key_lens) / sizeof(key_lens[0]); k++) {
		len = key_lens[k];
		off = 0;
		for (size_t i = 0; i < len && off + 3 < sizeof(hex); i++)
			off += snprintf(hex + off, sizeof(hex) - off, "%02x%s",
					key_byte(len, i),
					i % 16 == 15 ? "\n" : "");
		snprintf(hex + off, sizeof(hex) - off, "\n");
		snprintf(name, sizeof(name), "keys/k%zu.key", len);
		if (write_file(name, hex, 0600))
			return -EIO;
	}
	return 0;
}

static int write_psks(void)
{
	char text[CONN_PSK_MAX + 64], site[64], shortpw[64];

	memset(text, 'a', 300);
	strcpy(text + 300, "\n");
	snprintf(site, sizeof(site), "%s\n", psk_text);
	snprintf(shortpw, sizeof(shortpw), "%s\n", psk_short);
	if (write_file("keys/site.psk", site, 0600) ||
	    write_file("keys/hex.psk", psk_hex, 0600) ||
	    write_file("keys/short.psk", shortpw, 0600) ||
	    write_file("keys/open.psk", site, 0644) ||
	    write_file("keys/long.psk", text, 0600) ||
	    write_file("keys/badhex.psk", "0x00112233zz44556677\n", 0600) ||
	    write_file("keys/crlf.psk", "sixteen-byte-key\r\n", 0400) ||
	    write_file("keys/fifteen.psk", "fifteen-bytes!!", 0600) ||
	    write_file("keys/empty.psk", "\n", 0600))
		return -EIO;
	return 0;
}

static int setup(void)
{
	char path[PATH_MAX];

	if (!mkdtemp(tmpdir))
		return -errno;
	snprintf(path, sizeof(path), "%s/keys", tmpdir);
	if (mkdir(path, 0700))
		return -errno;
	if (write_file("keys/out.key", key128_hex, 0600) ||
	    write_file("keys/in.key", key256_hex, 0600) ||
	    write_file("keys/short.key", "000102030405060708090a0b0c0d0e0f\n",
		       0600) ||
	    write_file("keys/open.key", key128_hex, 0644) ||
	    write_file("keys/bad.key", "000102030405060708090a0b0c0d0e0f\n"
				       "a0a1a2zz\n", 0600) ||
	    write_file("keys/odd.key",
		       "000102030405060708090a0b0c0d0e0fa0a1a2a\n", 0600))
		return -EIO;
	if (write_psks())
		return -EIO;
	return write_keys();
}

static void teardown(void)
{
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The file name as the parser prints it in messages. */
static void conf_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static const char full_conf[] =
	"# A gateway with one tunnel each way.\n"			/* 1 */
	"[sa out-1]\n"							/* 2 */
	"dir = out\n"							/* 3 */
	"spi = 0x1000\n"						/* 4 */
	"src = 192.0.2.1\n"						/* 5 */
	"dst = 198.51.100.1\n"						/* 6 */
	"alg = aes-gcm-128\n"						/* 7 */
	"key_file = keys/out.key\n"					/* 8 */
	"sel_src = 10.1.0.0/16\n"					/* 9 */
	"sel_dst = 10.2.0.0/16   # the far side\n"			/* 10 */
	"esn = yes\n"							/* 11 */
	"\n"								/* 12 */
	"[sa in-1] ; keys in any order\n"				/* 13 */
	"key_file = keys/in.key\n"					/* 14 */
	"alg = aes-gcm-256\n"						/* 15 */
	"  sel_proto = tcp\n"						/* 16 */
	"sel_dst = 2001:db8:1::/48\n"					/* 17 */
	"sel_src = 2001:db8:2::/48\n"					/* 18 */
	"dst = 2001:db8::1\n"						/* 19 */
	"src = 2001:db8::2\n"						/* 20 */
	"spi = 70000\n"							/* 21 */
	"dir = in\n"							/* 22 */
	"replay_window = 0\n"						/* 23 */
	"mode = tunnel\n"						/* 24 */
	"proto = esp\n"							/* 25 */
	"\n"								/* 26 */
	"[policy out-web]\n"						/* 27 */
	"dir = out\n"							/* 28 */
	"src = 10.1.0.0/16\n"						/* 29 */
	"dst = 10.2.0.0/16\n"						/* 30 */
	"dport = 80-443\n"						/* 31 */
	"proto = tcp\n"							/* 32 */
	"sport = any\n"							/* 33 */
	"action = protect\n"						/* 34 */
	"sa = out-1\n"							/* 35 */
	"\n"								/* 36 */
	"[policy in-v6]\n"						/* 37 */
	"dir = in\n"							/* 38 */
	"src = 2001:db8:2::/48\n"					/* 39 */
	"dst = 2001:db8:1::/48\n"					/* 40 */
	"action = protect\n"						/* 41 */
	"sa = in-1\n"							/* 42 */
	"priority = 100\n"						/* 43 */
	"\n"								/* 44 */
	"[policy ike]\n"						/* 45 */
	"dir = in\n"							/* 46 */
	"src = 198.51.100.1\n"						/* 47 */
	"dst = 192.0.2.1/32\n"						/* 48 */
	"proto = udp\n"							/* 49 */
	"dport = 500\n"							/* 50 */
	"action = bypass\n"						/* 51 */
	"\n"								/* 52 */
	"; [daemon] may come last: its replay window still applies.\n"	/* 53 */
	"[daemon]\n"							/* 54 */
	"instance = gw1\n"						/* 55 */
	"interfaces = eth0   veth-a\n"					/* 56 */
	"default = bypass\n"						/* 57 */
	"replay_window = 256\n"						/* 58 */
	"log_level = debug\n"						/* 59 */
	"xdp_mode = native\n";						/* 60 */

static bool addr_is(const struct xdpsec_addr *a, int family, const char *s)
{
	struct xdpsec_addr want;

	memset(&want, 0, sizeof(want));
	if (inet_pton(family, s, want.v6) != 1)
		return false;
	return !memcmp(a, &want, sizeof(want));
}

/* Decodes hex text independently of the parser, skipping blanks. */
static bool key_is(const struct sa_conf *sa, const char *hex)
{
	uint8_t want[CONFIG_KEY_MAX];
	char digits[2 * sizeof(want) + 1];
	size_t n = 0, d = 0;
	unsigned int v;

	for (const char *p = hex; *p; p++) {
		if (isxdigit((unsigned char)*p) && d < sizeof(digits) - 1)
			digits[d++] = *p;
	}
	digits[d] = '\0';
	for (size_t i = 0; i + 1 < d && n < sizeof(want); i += 2) {
		if (sscanf(digits + i, "%2x", &v) != 1)
			return false;
		want[n++] = v;
	}
	return n == sa->key_len && !memcmp(sa->key, want, n);
}

/* The key of keys/kN.key. */
static bool key_pattern_is(const struct sa_conf *sa, size_t len)
{
	if (sa->key_len != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (sa->key[i] != key_byte(len, i))
			return false;
	return true;
}

static void check_daemon(const struct daemon_conf *d)
{
	CHECK(!strcmp(d->instance, "gw1"), "instance %s", d->instance);
	CHECK(d->n_ifaces == 2, "n_ifaces %u", d->n_ifaces);
	CHECK(!strcmp(d->ifaces[0], "eth0") && !strcmp(d->ifaces[1], "veth-a"),
	      "ifaces %s %s", d->ifaces[0], d->ifaces[1]);
	CHECK(d->default_action == XDPSEC_ACT_BYPASS, "default_action %u",
	      d->default_action);
	CHECK(d->replay_window == 256, "daemon replay_window %u",
	      d->replay_window);
	CHECK(d->log_level == LOG_LVL_DEBUG, "log_level %d", d->log_level);
	CHECK(d->xdp_mode == XDP_ATTACH_NATIVE, "xdp_mode %d", d->xdp_mode);
}

static void check_sa_out(const struct sa_conf *c)
{
	const struct xdpsec_sa *sa = &c->sa;

	CHECK(!strcmp(c->name, "out-1"), "sa name %s", c->name);
	CHECK(c->line == 2, "sa line %d", c->line);
	CHECK(sa->spi == 0x1000, "spi 0x%x", sa->spi);
	CHECK(sa->dir == XDPSEC_DIR_OUT, "dir %u", sa->dir);
	CHECK(sa->state == 0, "state %u", sa->state);
	CHECK(sa->mode == XDPSEC_MODE_TUNNEL, "mode %u", sa->mode);
	CHECK(sa->proto == XDPSEC_IPPROTO_ESP, "proto %u", sa->proto);
	CHECK(sa->alg == XDPSEC_ALG_AES_GCM_128, "alg %u", sa->alg);
	CHECK(sa->family == XDPSEC_AF_INET, "family %u", sa->family);
	CHECK(sa->flags == XDPSEC_SA_F_ESN, "flags 0x%x", sa->flags);
	CHECK(sa->replay_window == 256, "replay from [daemon]: %u",
	      sa->replay_window);
	CHECK(addr_is(&sa->src, AF_INET, "192.0.2.1"), "src");
	CHECK(addr_is(&sa->dst, AF_INET, "198.51.100.1"), "dst");
	CHECK(sa->sel.family == XDPSEC_AF_INET, "sel family %u",
	      sa->sel.family);
	CHECK(addr_is(&sa->sel.src, AF_INET, "10.1.0.0") &&
		      sa->sel.src_plen == 16,
	      "sel_src /%u", sa->sel.src_plen);
	CHECK(addr_is(&sa->sel.dst, AF_INET, "10.2.0.0") &&
		      sa->sel.dst_plen == 16,
	      "sel_dst /%u", sa->sel.dst_plen);
	CHECK(sa->sel.proto == 0 && sa->sel.sport_lo == 0 &&
		      sa->sel.sport_hi == 65535 && sa->sel.dport_hi == 65535,
	      "sel proto/ports");
	CHECK(c->key_len == 20 && key_is(c, key128_hex), "out key (%zu)",
	      c->key_len);
}

static void check_sa_in(const struct sa_conf *c)
{
	const struct xdpsec_sa *sa = &c->sa;

	CHECK(!strcmp(c->name, "in-1"), "sa name %s", c->name);
	CHECK(sa->spi == 70000, "spi %u", sa->spi);
	CHECK(sa->dir == XDPSEC_DIR_IN, "dir %u", sa->dir);
	CHECK(sa->alg == XDPSEC_ALG_AES_GCM_256, "alg %u", sa->alg);
	CHECK(sa->family == XDPSEC_AF_INET6, "family %u", sa->family);
	CHECK(sa->flags == 0, "flags 0x%x", sa->flags);
	CHECK(sa->replay_window == 0, "replay_window %u", sa->replay_window);
	CHECK(addr_is(&sa->src, AF_INET6, "2001:db8::2"), "src6");
	CHECK(addr_is(&sa->dst, AF_INET6, "2001:db8::1"), "dst6");
	CHECK(sa->sel.family == XDPSEC_AF_INET6, "sel family %u",
	      sa->sel.family);
	CHECK(addr_is(&sa->sel.src, AF_INET6, "2001:db8:2::") &&
		      sa->sel.src_plen == 48,
	      "sel_src6");
	CHECK(addr_is(&sa->sel.dst, AF_INET6, "2001:db8:1::") &&
		      sa->sel.dst_plen == 48,
	      "sel_dst6");
	CHECK(sa->sel.proto == XDPSEC_IPPROTO_TCP, "sel_proto %u",
	      sa->sel.proto);
	CHECK(c->key_len == 36 && key_is(c, key256_hex), "in key (%zu)",
	      c->key_len);
}

static void check_policies(const struct config *cfg)
{
	const struct policy_conf *web = &cfg->policies[0];
	const struct policy_conf *v6 = &cfg->policies[1];
	const struct policy_conf *ike = &cfg->policies[2];

	CHECK(!strcmp(web->name, "out-web") && web->line == 27, "web");
	CHECK(web->pol.dir == XDPSEC_DIR_OUT, "web dir");
	CHECK(web->pol.action == XDPSEC_ACT_PROTECT, "web action");
	CHECK(!strcmp(web->sa_name, "out-1"), "web sa %s", web->sa_name);
	CHECK(web->pol.sel.proto == XDPSEC_IPPROTO_TCP, "web proto");
	CHECK(web->pol.sel.sport_lo == 0 && web->pol.sel.sport_hi == 65535,
	      "web sport");
	CHECK(web->pol.sel.dport_lo == 80 && web->pol.sel.dport_hi == 443,
	      "web dport %u-%u", web->pol.sel.dport_lo,
	      web->pol.sel.dport_hi);
	CHECK(addr_is(&web->pol.sel.dst, AF_INET, "10.2.0.0") &&
		      web->pol.sel.dst_plen == 16,
	      "web dst");
	/* 32768 - 64 * (16 + 16) - 16 (proto) - 8 (dport). */
	CHECK(web->pol.priority == 30696, "web priority %u",
	      web->pol.priority);

	CHECK(v6->pol.sel.family == XDPSEC_AF_INET6, "v6 family");
	CHECK(v6->pol.priority == 100, "v6 priority %u", v6->pol.priority);
	CHECK(!strcmp(v6->sa_name, "in-1"), "v6 sa");

	CHECK(ike->pol.action == XDPSEC_ACT_BYPASS, "ike action");
	CHECK(ike->pol.sel.src_plen == 32 && ike->pol.sel.dst_plen == 32,
	      "ike bare address is /32");
	CHECK(ike->pol.sel.dport_lo == 500 && ike->pol.sel.dport_hi == 500,
	      "ike dport");
	CHECK(!ike->sa_name[0], "ike has no sa");
	/* 32768 - 64 * 64 - 16 - 8: more specific, so before out-web. */
	CHECK(ike->pol.priority == 28648, "ike priority %u",
	      ike->pol.priority);
	CHECK(ike->pol.priority < web->pol.priority, "specific first");
}

static void test_full(void)
{
	char err[CONFIG_ERR_MAX] = "", path[PATH_MAX];
	struct config cfg;
	int rc;

	CHECK(!write_file("full.conf", full_conf, 0644), "write full.conf");
	conf_path("full.conf", path, sizeof(path));
	rc = config_load(path, &cfg, err, sizeof(err));
	CHECK(rc == 0, "full.conf: %d %s", rc, err);
	if (rc)
		return;
	CHECK(!strcmp(cfg.path, path), "cfg.path %s", cfg.path);
	check_daemon(&cfg.daemon);
	CHECK(cfg.n_sas == 2, "n_sas %zu", cfg.n_sas);
	CHECK(cfg.n_policies == 3, "n_policies %zu", cfg.n_policies);
	if (cfg.n_sas == 2) {
		check_sa_out(&cfg.sas[0]);
		check_sa_in(&cfg.sas[1]);
	}
	if (cfg.n_policies == 3)
		check_policies(&cfg);
	config_free(&cfg);
	CHECK(cfg.sas == NULL && cfg.n_sas == 0, "config_free");
}

/* No [daemon]: RFC 4301 wants DISCARD for traffic no policy matches. */
static void test_no_daemon(void)
{
	char err[CONFIG_ERR_MAX] = "", path[PATH_MAX];
	struct config cfg;
	int rc;

	write_file("empty.conf", "# nothing here\n\n", 0644);
	conf_path("empty.conf", path, sizeof(path));
	rc = config_load(path, &cfg, err, sizeof(err));
	CHECK(rc == 0, "empty.conf: %s", err);
	CHECK(cfg.daemon.default_action == XDPSEC_ACT_DISCARD,
	      "default is discard");
	CHECK(!strcmp(cfg.daemon.instance, "default"), "instance default");
	CHECK(cfg.daemon.replay_window == XDPSEC_REPLAY_DEFAULT,
	      "replay default");
	CHECK(cfg.n_sas == 0 && cfg.n_policies == 0, "nothing loaded");
	config_free(&cfg);
}

/* The keys of the whole data plane: AH, transport mode, NAT-T, lifetimes. */
static const char dataplane_conf[] =
	"[sa cbc-out]\n"						/* 1 */
	"dir = out\n"							/* 2 */
	"spi = 0x2000\n"						/* 3 */
	"mode = transport\n"						/* 4 */
	"src = 192.0.2.1\n"						/* 5 */
	"dst = 198.51.100.1\n"						/* 6 */
	"alg = aes-cbc-256\n"						/* 7 */
	"integ = sha512\n"						/* 8 */
	"key_file = keys/k96.key\n"					/* 9 */
	"encap = yes\n"							/* 10 */
	"encap_dport = 4501\n"						/* 11 */
	"soft_bytes = 512M\n"						/* 12 */
	"hard_bytes = 1G\n"						/* 13 */
	"soft_packets = 1000000\n"					/* 14 */
	"hard_packets = 2000000\n"					/* 15 */
	"soft_seconds = 45m\n"						/* 16 */
	"hard_seconds = 1h\n"						/* 17 */
	"esn = yes\n"							/* 18 */
	"\n"								/* 19 */
	"[sa esp-in]\n"							/* 20 */
	"dir = in\n"							/* 21 */
	"spi = 0x3000\n"						/* 22 */
	"src = 198.51.100.1\n"						/* 23 */
	"dst = 192.0.2.1\n"						/* 24 */
	"sel_src = 10.2.0.0/16\n"					/* 25 */
	"sel_dst = 10.1.0.0/16\n"					/* 26 */
	"alg = chacha20-poly1305\n"					/* 27 */
	"key_file = keys/k36.key\n"					/* 28 */
	"tfc_pad = 1500\n"						/* 29 */
	"hard_bytes = 4096\n"						/* 30 */
	"soft_seconds = 1d\n"						/* 31 */
	"\n"								/* 32 */
	"; Same SPI as esp-in: inbound SAs are told apart by protocol too.\n"
	"[sa ah-in]\n"							/* 34 */
	"proto = ah\n"							/* 35 */
	"dir = in\n"							/* 36 */
	"spi = 0x3000\n"						/* 37 */
	"mode = transport\n"						/* 38 */
	"sel_dst = 2001:db8::1/128\n"					/* 39 */
	"src = 2001:db8::2\n"						/* 40 */
	"dst = 2001:db8::1\n"						/* 41 */
	"sel_proto = icmpv6\n"						/* 42 */
	"integ = hmac-sha384-192\n"					/* 43 */
	"alg = none\n"							/* 44 */
	"key_file = keys/k48.key\n"					/* 45 */
	"\n"								/* 46 */
	"[sa null-out]\n"						/* 47 */
	"dir = out\n"							/* 48 */
	"spi = 0x4000\n"						/* 49 */
	"src = 192.0.2.1\n"						/* 50 */
	"dst = 198.51.100.1\n"						/* 51 */
	"sel_src = 10.1.0.0/16\n"					/* 52 */
	"sel_dst = 10.2.0.0/16\n"					/* 53 */
	"alg = null\n"							/* 54 */
	"integ = hmac-sha256-128\n"					/* 55 */
	"key_file = keys/k32.key\n"					/* 56 */
	"replay_window = 64\n"						/* 57 */
	"encap = no\n"							/* 58 */
	"soft_packets = 5\n"						/* 59 */
	"hard_packets = 0   # no limit: any soft limit goes\n"		/* 60 */
	"\n"								/* 61 */
	"[policy ah-in]\n"						/* 62 */
	"dir = in\n"							/* 63 */
	"src = 2001:db8::2/128\n"					/* 64 */
	"dst = 2001:db8::1/128\n"					/* 65 */
	"action = protect\n"						/* 66 */
	"sa = ah-in\n";							/* 67 */

static bool sel_is(const struct xdpsec_sel *sel, int family, const char *src,
		   unsigned int src_plen, const char *dst,
		   unsigned int dst_plen)
{
	return sel->family == (family == AF_INET ? XDPSEC_AF_INET :
						   XDPSEC_AF_INET6) &&
	       addr_is(&sel->src, family, src) && sel->src_plen == src_plen &&
	       addr_is(&sel->dst, family, dst) && sel->dst_plen == dst_plen;
}

static void check_cbc_out(const struct sa_conf *c)
{
	const struct xdpsec_sa *sa = &c->sa;

	CHECK(!strcmp(c->name, "cbc-out") && c->line == 1, "cbc-out");
	CHECK(sa->proto == XDPSEC_IPPROTO_ESP, "cbc proto %u", sa->proto);
	CHECK(sa->mode == XDPSEC_MODE_TRANSPORT, "cbc mode %u", sa->mode);
	CHECK(sa->alg == XDPSEC_ALG_AES_CBC_256, "cbc alg %u", sa->alg);
	CHECK(sa->integ == XDPSEC_INTEG_HMAC_SHA512_256, "cbc integ %u",
	      sa->integ);
	CHECK(sa->flags == (XDPSEC_SA_F_ESN | XDPSEC_SA_F_UDP_ENCAP),
	      "cbc flags 0x%x", sa->flags);
	CHECK(sa->encap_sport == 4500 && sa->encap_dport == 4501,
	      "cbc encap ports %u %u", sa->encap_sport, sa->encap_dport);
	CHECK(sa->tfc_pad == 0, "cbc tfc_pad %u", sa->tfc_pad);
	CHECK(sel_is(&sa->sel, AF_INET, "192.0.2.1", 32, "198.51.100.1", 32),
	      "transport selectors default to the hosts");
	CHECK(sa->soft.bytes == 512ull << 20 && sa->hard.bytes == 1ull << 30,
	      "cbc bytes %llu %llu", (unsigned long long)sa->soft.bytes,
	      (unsigned long long)sa->hard.bytes);
	CHECK(sa->soft.packets == 1000000 && sa->hard.packets == 2000000,
	      "cbc packets");
	CHECK(sa->soft.seconds == 2700 && sa->hard.seconds == 3600,
	      "cbc seconds %llu %llu", (unsigned long long)sa->soft.seconds,
	      (unsigned long long)sa->hard.seconds);
	CHECK(key_pattern_is(c, 96), "cbc key (%zu)", c->key_len);
}

static void check_esp_in(const struct sa_conf *c)
{
	const struct xdpsec_sa *sa = &c->sa;

	CHECK(sa->alg == XDPSEC_ALG_CHACHA20_POLY1305, "chacha alg %u",
	      sa->alg);
	CHECK(sa->integ == XDPSEC_INTEG_NONE, "chacha integ %u", sa->integ);
	CHECK(sa->mode == XDPSEC_MODE_TUNNEL, "chacha mode");
	CHECK(sa->flags == 0 && sa->encap_sport == 0 && sa->encap_dport == 0,
	      "no encap: flags 0x%x ports %u %u", sa->flags, sa->encap_sport,
	      sa->encap_dport);
	CHECK(sa->tfc_pad == 1500, "tfc_pad %u", sa->tfc_pad);
	CHECK(sa->hard.bytes == 4096 && sa->hard.packets == 0 &&
		      sa->hard.seconds == 0,
	      "chacha hard");
	CHECK(sa->soft.seconds == 86400 && sa->soft.bytes == 0,
	      "chacha soft seconds %llu", (unsigned long long)sa->soft.seconds);
	CHECK(sel_is(&sa->sel, AF_INET, "10.2.0.0", 16, "10.1.0.0", 16),
	      "tunnel selectors as given");
	CHECK(key_pattern_is(c, 36), "chacha key (%zu)", c->key_len);
}

static void check_ah_in(const struct sa_conf *c)
{
	const struct xdpsec_sa *sa = &c->sa;

	CHECK(!strcmp(c->name, "ah-in") && c->line == 34, "ah-in line %d",
	      c->line);
	CHECK(sa->proto == XDPSEC_IPPROTO_AH, "ah proto %u", sa->proto);
	CHECK(sa->alg == XDPSEC_ALG_NONE, "ah alg %u", sa->alg);
	CHECK(sa->integ == XDPSEC_INTEG_HMAC_SHA384_192, "ah integ %u",
	      sa->integ);
	CHECK(sa->spi == 0x3000 && sa->dir == XDPSEC_DIR_IN, "ah spi/dir");
	CHECK(sa->mode == XDPSEC_MODE_TRANSPORT, "ah mode");
	CHECK(sel_is(&sa->sel, AF_INET6, "2001:db8::2", 128, "2001:db8::1",
		     128),
	      "ah selectors: one defaulted, one given");
	CHECK(sa->sel.proto == XDPSEC_IPPROTO_ICMPV6, "ah sel_proto");
	CHECK(sa->replay_window == XDPSEC_REPLAY_DEFAULT, "ah replay %u",
	      sa->replay_window);
	CHECK(key_pattern_is(c, 48), "ah key (%zu)", c->key_len);
}

static void check_null_out(const struct sa_conf *c)
{
	const struct xdpsec_sa *sa = &c->sa;

	CHECK(sa->alg == XDPSEC_ALG_NULL, "null alg %u", sa->alg);
	CHECK(sa->integ == XDPSEC_INTEG_HMAC_SHA256_128, "null integ %u",
	      sa->integ);
	CHECK(sa->replay_window == 64, "null replay %u", sa->replay_window);
	CHECK(sa->flags == 0 && sa->encap_sport == 0, "encap = no");
	CHECK(sa->soft.packets == 5 && sa->hard.packets == 0,
	      "soft limit under no hard limit");
	CHECK(key_pattern_is(c, 32), "null key (%zu)", c->key_len);
}

static void test_dataplane(void)
{
	char err[CONFIG_ERR_MAX] = "", path[PATH_MAX];
	struct config cfg;
	int rc;

	CHECK(!write_file("dataplane.conf", dataplane_conf, 0644),
	      "write dataplane.conf");
	conf_path("dataplane.conf", path, sizeof(path));
	rc = config_load(path, &cfg, err, sizeof(err));
	CHECK(rc == 0, "dataplane.conf: %d %s", rc, err);
	if (rc)
		return;
	CHECK(cfg.n_sas == 4 && cfg.n_policies == 1,
	      "dataplane: %zu SAs, %zu policies", cfg.n_sas, cfg.n_policies);
	if (cfg.n_sas == 4) {
		check_cbc_out(&cfg.sas[0]);
		check_esp_in(&cfg.sas[1]);
		check_ah_in(&cfg.sas[2]);
		check_null_out(&cfg.sas[3]);
	}
	if (cfg.n_policies == 1)
		CHECK(!strcmp(cfg.policies[0].sa_name, "ah-in") &&
			      cfg.policies[0].pol.action == XDPSEC_ACT_PROTECT,
		      "a protect policy names an AH SA");
	config_free(&cfg);
}

#define SA_HEAD(name, spi)						\
	"[sa " name "]\n"	/* 1 */					\
	"dir = out\n"		/* 2 */					\
	"spi = " spi "\n"	/* 3 */					\
	"src = 192.0.2.1\n"	/* 4 */					\
	"dst = 192.0.2.2\n"	/* 5 */					\
	"sel_src = 10.1.0.0/16\n" /* 6 */				\
	"sel_dst = 10.2.0.0/16\n" /* 7 */

#define SA_OK(name, spi)						\
	SA_HEAD(name, spi)						\
	"alg = aes-gcm-128\n"	/* 8 */					\
	"key_file = keys/out.key\n" /* 9 */

#define POLICY_HEAD(name)						\
	"[policy " name "]\n"						\
	"dir = out\n"							\
	"src = 10.1.0.0/16\n"						\
	"dst = 10.2.0.0/16\n"

struct bad_case {
	const char *what;
	const char *text;
	int line;
	const char *words[3];
};

static const struct bad_case bad_cases[] = {
	{ "max_sas too small", "[daemon]\nmax_sas = 15\n", 2,
	  { "max_sas '15' is invalid", "use 16 to 4194304" } },
	{ "max_sas too large", "[daemon]\nmax_sas = 4194305\n", 2,
	  { "max_sas '4194305' is invalid" } },
	{ "max_policies not a number", "[daemon]\nmax_policies = 1e6\n", 2,
	  { "max_policies '1e6' is invalid", "use 16 to 2097152" } },
	{ "max_policies too large", "[daemon]\nmax_policies = 2097153\n", 2,
	  { "max_policies '2097153' is invalid" } },
	{ "unknown key", SA_OK("a", "300") "colour = blue\n", 10,
	  { "unknown key", "colour", "[sa]" } },
	{ "unknown section", "[daemon]\n\n[tunnel t1]\ndir = in\n", 3,
	  { "unknown section", "[tunnel]" } },
	{ "duplicate key", SA_OK("a", "300") "spi = 301\n", 10,
	  { "duplicate key", "spi", "line 3" } },
	{ "missing key", "\n[sa a]\ndir = out\nsrc = 192.0.2.1\n", 2,
	  { "missing", "spi", "key_file" } },
	{ "missing key, section ends at the next", "[sa a]\ndir = out\n"
	  "[daemon]\n", 1, { "missing", "[sa a]" } },
	{ "key outside section", "dir = in\n", 1, { "before any section" } },
	{ "daemon twice", "[daemon]\n[daemon]\n", 2,
	  { "second [daemon]", "line 1" } },
	{ "duplicate sa", SA_OK("a", "300") SA_OK("a", "301"), 10,
	  { "duplicate [sa a]", "line 1" } },
	{ "bad section name", "[sa a/b]\n", 1, { "invalid sa name" } },
	{ "unnamed sa", "[sa]\n", 1, { "needs a name" } },
	{ "no '='", "[daemon]\ninstance gw\n", 2, { "expected" } },
	{ "spi 0", SA_OK("a", "0"), 3, { "spi 0", "invalid" } },
	{ "spi 200", SA_OK("a", "200"), 3,
	  { "spi 200", "reserved (1-255)", "256" } },
	{ "spi 0x10", SA_OK("a", "0x10"), 3, { "spi 0x10 is reserved" } },
	{ "spi 2^32", SA_OK("a", "4294967296"), 3,
	  { "spi 4294967296", "out of range" } },
	{ "spi huge", SA_OK("a", "99999999999999999999999"), 3,
	  { "out of range" } },
	{ "spi text", SA_OK("a", "12ab"), 3, { "not a number" } },
	{ "3des", SA_HEAD("a", "300") "alg = 3des\n", 8,
	  { "3des", "refused", "RFC 8221" } },
	{ "md5", SA_HEAD("a", "300") "alg = md5\n", 8,
	  { "md5", "refused" } },
	{ "hmac-md5", SA_HEAD("a", "300") "alg = HMAC-MD5\n", 8,
	  { "HMAC-MD5", "refused" } },
	{ "null", SA_HEAD("a", "300") "alg = null\n", 8,
	  { "null", "refused" } },
	{ "unknown alg", SA_HEAD("a", "300") "alg = aes-cbc\n", 8,
	  { "aes-cbc", "unknown" } },
	{ "ah with an alg", SA_OK("a", "300") "proto = ah\n", 10,
	  { "proto ah takes no alg", "none" } },
	{ "transport with tunnel selectors", SA_OK("a", "300")
	  "mode = transport\n", 10,
	  { "mode transport", "sel_src must be src 192.0.2.1/32" } },
	{ "bad prefix", SA_OK("a", "300") "[sa b]\nsel_src = 10.1.0/16\n", 11,
	  { "10.1.0/16", "not an IPv4 or IPv6 prefix" } },
	{ "prefix too long", "[policy q]\ndst = 10.0.0.0/33\n", 2,
	  { "prefix length", "0 to 32" } },
	{ "host bits", "[policy p]\ndir = in\nsrc = 192.0.2.1/24\n", 3,
	  { "192.0.2.1/24 has host bits set", "192.0.2.0/24" } },
	{ "host bits v6", "[sa a]\nsel_dst = 2001:db8::1/64\n", 2,
	  { "host bits", "2001:db8::/64" } },
	{ "mixed outer families",
	  "[sa a]\nsrc = 192.0.2.1\ndst = 2001:db8::1\n", 3,
	  { "dst 2001:db8::1 is IPv6", "src is IPv4" } },
	{ "mixed selector families", "[sa a]\nsel_dst = 2001:db8::/32\n"
	  "sel_src = 10.0.0.0/8\n", 3, { "sel_src", "IPv4", "IPv6" } },
	{ "mixed policy families", "[policy q]\nsrc = ::/0\ndst = 0.0.0.0/0\n",
	  3, { "dst 0.0.0.0/0 is IPv4", "one family" } },
	{ "ports on icmp", POLICY_HEAD("p") "proto = icmp\ndport = 1-2\n", 6,
	  { "tcp or udp", "icmp" } },
	{ "ports before icmp", POLICY_HEAD("p") "sport = 7\nproto = icmp\n", 6,
	  { "tcp or udp" } },
	{ "ports without proto", POLICY_HEAD("p") "dport = 22\n"
	  "action = bypass\n", 1, { "tcp or udp" } },
	{ "bad port range", POLICY_HEAD("p") "proto = tcp\ndport = 9-1\n", 6,
	  { "dport '9-1'" } },
	{ "icmp with IPv6", "[policy p]\nsrc = ::/0\nproto = icmp\n", 3,
	  { "icmpv6" } },
	{ "key file mode", SA_HEAD("a", "300") "alg = aes-gcm-128\n"
	  "key_file = keys/open.key\n", 9,
	  { "keys/open.key", "readable by group or others", "0644" } },
	{ "key file length", SA_HEAD("a", "300") "key_file = keys/short.key\n"
	  "alg = aes-gcm-128\n", 8,
	  { "keys/short.key holds 16 bytes", "aes-gcm-128 needs 20",
	    "4 salt" } },
	{ "key file length 256", SA_HEAD("a", "300") "alg = aes-gcm-256\n"
	  "key_file = keys/out.key\n", 9, { "holds 20 bytes", "needs 36" } },
	{ "key file bad hex", SA_HEAD("a", "300") "key_file = keys/bad.key\n",
	  8, { "keys/bad.key", "line 2", "not a hex digit" } },
	{ "key file odd", SA_HEAD("a", "300") "key_file = keys/odd.key\n", 8,
	  { "odd number of hex digits" } },
	{ "key file missing", SA_HEAD("a", "300") "key_file = keys/none.key\n",
	  8, { "keys/none.key", "No such file" } },
	{ "key file is a directory", SA_HEAD("a", "300") "key_file = keys\n",
	  8, { "not a regular file" } },
	{ "protect without sa", POLICY_HEAD("p") "action = protect\n", 1,
	  { "[policy p]", "protect", "no sa" } },
	{ "sa on bypass", POLICY_HEAD("p") "sa = x\naction = bypass\n", 6,
	  { "sa is only for action protect", "bypass" } },
	{ "unknown sa", SA_OK("a", "300") POLICY_HEAD("p")
	  "action = protect\nsa = ghost\n", 15,
	  { "policy p", "no [sa ghost]" } },
	{ "sa of the wrong dir", SA_OK("a", "300") "[policy p]\ndir = in\n"
	  "src = 10.2.0.0/16\ndst = 10.1.0.0/16\naction = protect\nsa = a\n",
	  15, { "dir in", "[sa a] has dir out" } },
	{ "inbound spi twice", "[sa a]\ndir = in\nspi = 300\nsrc = 192.0.2.1\n"
	  "dst = 192.0.2.2\nsel_src = 10.1.0.0/16\nsel_dst = 10.2.0.0/16\n"
	  "alg = aes-gcm-128\nkey_file = keys/out.key\n"
	  "[sa b]\ndir = in\nspi = 0x12c\nsrc = 192.0.2.1\n"
	  "dst = 192.0.2.2\nsel_src = 10.1.0.0/16\nsel_dst = 10.2.0.0/16\n"
	  "alg = aes-gcm-128\nkey_file = keys/out.key\n", 12,
	  { "spi 0x12c", "[sa a]" } },
	{ "default protect", "[daemon]\ndefault = protect\n", 2,
	  { "default protect is refused", "discard or bypass" } },
	{ "replay window", "[daemon]\n# comment\nreplay_window = 100\n", 3,
	  { "replay_window 100", "multiple of 32" } },
	{ "replay window too big", SA_OK("a", "300") "replay_window = 8192\n",
	  10, { "replay_window 8192" } },
	{ "interface too long",
	  "[daemon]\ninterfaces = eth0 abcdefghijklmnop\n", 2,
	  { "abcdefghijklmnop", "too long" } },
	{ "interface twice", "[daemon]\ninterfaces = eth0 eth0\n", 2,
	  { "eth0 is listed twice" } },
	{ "bad log level", "[daemon]\nlog_level = loud\n", 2, { "log_level" } },
	{ "bad instance", "[daemon]\ninstance = ../x\n", 2, { "instance" } },
	{ "priority range", POLICY_HEAD("p") "priority = 65536\n", 5,
	  { "priority '65536'" } },
	{ "empty value", "[sa a]\nspi =\n", 2, { "spi has no value" } },

	/* proto, mode */
	{ "bad proto", "[sa a]\nproto = gre\n", 2,
	  { "proto 'gre' is invalid", "esp or ah" } },
	{ "bad mode", "[sa a]\nmode = beet\n", 2,
	  { "mode 'beet' is invalid", "tunnel or transport" } },
	{ "ah without integ", "[sa a]\nproto = ah\ndir = in\nspi = 300\n"
	  "src = 192.0.2.1\ndst = 192.0.2.2\nmode = transport\n"
	  "key_file = keys/k32.key\n", 1,
	  { "[sa a] is missing", "integ" } },
	{ "ah with integ none", "[sa a]\nproto = ah\ninteg = none\n", 3,
	  { "proto ah needs an integ", "hmac-sha256-128" } },
	{ "alg before proto ah", "[sa a]\nalg = aes-gcm-128\nproto = ah\n", 3,
	  { "proto ah takes no alg" } },
	{ "alg none with esp", SA_HEAD("a", "300") "alg = none\n"
	  "key_file = keys/k32.key\n", 8,
	  { "alg none is only for proto ah" } },

	/* alg and integ (RFC 8221) */
	{ "gcm with integ", SA_OK("a", "300") "integ = hmac-sha256-128\n", 10,
	  { "aes-gcm-128 is combined mode: integ must not be set" } },
	{ "integ before gcm", SA_HEAD("a", "300") "integ = sha256\n"
	  "alg = aes-gcm-256\n", 9, { "aes-gcm-256 is combined mode" } },
	{ "chacha with integ", SA_HEAD("a", "300") "alg = chacha20-poly1305\n"
	  "integ = sha384\n", 9,
	  { "chacha20-poly1305 is combined mode", "integ must not be set" } },
	{ "gmac with integ", SA_HEAD("a", "300") "alg = aes-gmac-128\n"
	  "integ = sha512\n", 9,
	  { "aes-gmac-128", "own integrity", "integ must not be set" } },
	{ "cbc without integ", SA_HEAD("a", "300") "alg = aes-cbc-128\n"
	  "key_file = keys/k48.key\n", 8,
	  { "aes-cbc-128 needs an integ", "hmac-sha256-128" } },
	{ "cbc with integ none", SA_HEAD("a", "300") "alg = aes-cbc-256\n"
	  "integ = none\n", 9, { "aes-cbc-256 needs an integ" } },
	{ "null without integ", SA_HEAD("a", "300") "key_file = keys/k32.key\n"
	  "alg = null\n", 9,
	  { "null encryption with no integrity is refused",
	    "RFC 4303 section 3.2" } },
	{ "hmac-md5-96", SA_HEAD("a", "300") "alg = aes-cbc-128\n"
	  "integ = hmac-md5-96\n", 9,
	  { "hmac-md5-96 is refused", "MUST NOT", "use hmac-sha256-128" } },
	{ "hmac-sha1-96", SA_HEAD("a", "300") "alg = aes-cbc-128\n"
	  "integ = hmac-sha1-96\n", 9,
	  { "hmac-sha1-96 is not supported: use hmac-sha256-128" } },
	{ "sha1", SA_HEAD("a", "300") "integ = SHA1\n", 8,
	  { "SHA1 is not supported" } },
	{ "aes-ctr", SA_HEAD("a", "300") "alg = aes-ctr\n", 8,
	  { "aes-ctr is not supported" } },
	{ "unknown integ", SA_HEAD("a", "300") "integ = sha3\n", 8,
	  { "integ 'sha3' is unknown", "hmac-sha512-256" } },
	{ "integ as alg", SA_HEAD("a", "300") "alg = hmac-sha256-128\n", 8,
	  { "integrity algorithm", "integ = hmac-sha256-128" } },
	{ "alg as integ", SA_HEAD("a", "300") "integ = aes-gmac-256\n", 8,
	  { "integ aes-gmac-256 is an alg", "alg = aes-gmac-256" } },

	/* key lengths */
	{ "key file length cbc", SA_HEAD("a", "300") "alg = aes-cbc-256\n"
	  "integ = hmac-sha256-128\nkey_file = keys/out.key\n", 10,
	  { "keys/out.key holds 20 bytes",
	    "aes-cbc-256 + hmac-sha256-128 needs 64 bytes: 32 cipher key + 32 integrity key" } },
	{ "key file length ah", "[sa a]\nkey_file = keys/k48.key\n"
	  "proto = ah\ninteg = sha256\n", 2,
	  { "holds 48 bytes",
	    "hmac-sha256-128 needs 32 bytes: 32 integrity key" } },
	{ "key file too large", SA_HEAD("a", "300")
	  "key_file = keys/k101.key\n", 8,
	  { "holds 101 bytes", "no transform takes more than 100" } },

	/* UDP encapsulation */
	{ "ah with encap", "[sa a]\nproto = ah\nencap = yes\n", 3,
	  { "encap is for ESP only" } },
	{ "encap before ah", "[sa a]\nencap = yes\nproto = ah\n", 3,
	  { "encap is for ESP only" } },
	{ "encap port without encap", SA_OK("a", "300")
	  "encap_sport = 4501\n", 10, { "encap_sport needs encap = yes" } },
	{ "encap port with encap no", SA_OK("a", "300") "encap = no\n"
	  "encap_dport = 4501\n", 11, { "encap_dport needs encap = yes" } },
	{ "encap port 0", "[sa a]\nencap_sport = 0\n", 2,
	  { "encap_sport '0' is invalid", "1-65535" } },
	{ "encap port too big", "[sa a]\nencap_dport = 65536\n", 2,
	  { "encap_dport '65536' is invalid" } },
	{ "encap not a bool", "[sa a]\nencap = maybe\n", 2,
	  { "encap 'maybe' is invalid", "yes or no" } },

	/* TFC padding */
	{ "tfc_pad too big", "[sa a]\ntfc_pad = 1501\n", 2,
	  { "tfc_pad '1501' is invalid", "0 (off) to 1500" } },
	{ "tfc_pad in transport mode", "[sa a]\nmode = transport\n"
	  "tfc_pad = 100\n", 3, { "tfc_pad needs mode tunnel", "2.7" } },
	{ "tfc_pad with ah", "[sa a]\ntfc_pad = 100\nproto = ah\n", 3,
	  { "tfc_pad is for ESP only" } },

	/* transport mode selectors */
	{ "transport sel_dst too wide", "[sa a]\nmode = transport\n"
	  "src = 192.0.2.1\ndst = 192.0.2.2\nsel_dst = 192.0.2.0/24\n", 5,
	  { "sel_dst must be dst 192.0.2.2/32" } },
	{ "transport sel_src of another host", "[sa a]\nmode = transport\n"
	  "sel_src = 192.0.2.9/32\nsrc = 192.0.2.1\n", 4,
	  { "sel_src must be src 192.0.2.1/32" } },
	{ "transport set last", "[sa a]\nsel_src = 10.0.0.0/8\n"
	  "src = 192.0.2.1\nmode = transport\n", 4,
	  { "mode transport", "sel_src" } },
	{ "transport v6 prefix", "[sa a]\nmode = transport\n"
	  "src = 2001:db8::1\nsel_src = 2001:db8::/64\n", 4,
	  { "sel_src must be src 2001:db8::1/128" } },
	{ "transport icmp with IPv6 hosts", "[sa a]\nmode = transport\n"
	  "sel_proto = icmp\nsrc = 2001:db8::1\n", 4, { "use icmpv6" } },

	/* lifetimes */
	{ "soft bytes above hard", SA_OK("a", "300") "hard_bytes = 1G\n"
	  "soft_bytes = 2G\n", 11, { "soft_bytes 2G exceeds hard_bytes 1G" } },
	{ "soft packets above hard", SA_OK("a", "300")
	  "soft_packets = 1001\nhard_packets = 1000\n", 11,
	  { "soft_packets 1001 exceeds hard_packets 1000" } },
	{ "soft seconds above hard", SA_OK("a", "300") "soft_seconds = 2h\n"
	  "hard_seconds = 5400\n", 11,
	  { "soft_seconds 2h exceeds hard_seconds 90m" } },
	{ "bytes suffix", "[sa a]\nsoft_bytes = 10T\n", 2,
	  { "soft_bytes '10T' is invalid", "K, M or G", "0 = no limit" } },
	{ "seconds suffix", "[sa a]\nhard_seconds = 1w\n", 2,
	  { "hard_seconds '1w' is invalid", "s, m, h or d" } },
	{ "packets take no suffix", "[sa a]\nhard_packets = 1K\n", 2,
	  { "hard_packets '1K' is invalid" } },
	{ "negative lifetime", "[sa a]\nsoft_seconds = -1\n", 2,
	  { "soft_seconds '-1' is invalid" } },
	{ "lifetime overflow", "[sa a]\nhard_bytes = 17179869184G\n", 2,
	  { "hard_bytes 17179869184G is out of range" } },
	{ "inbound ah spi twice", "[sa a]\nproto = ah\ndir = in\nspi = 300\n"
	  "src = 192.0.2.1\ndst = 192.0.2.2\nmode = transport\n"
	  "integ = sha256\nkey_file = keys/k32.key\n"
	  "[sa b]\nproto = ah\ndir = in\nspi = 300\n"
	  "src = 192.0.2.1\ndst = 192.0.2.2\nmode = transport\n"
	  "integ = sha256\nkey_file = keys/k32.key\n", 13,
	  { "spi 0x12c", "inbound ah [sa a]" } },
};

static bool has_words(const char *msg, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (words[i] && !strstr(msg, words[i]))
			return false;
	return true;
}

static void test_bad(const struct bad_case *c)
{
	char err[CONFIG_ERR_MAX] = "", path[PATH_MAX], prefix[PATH_MAX + 16];
	struct config cfg;
	int rc;

	write_file("bad.conf", c->text, 0644);
	conf_path("bad.conf", path, sizeof(path));
	rc = config_load(path, &cfg, err, sizeof(err));
	CHECK(rc < 0, "%s: accepted", c->what);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, c->line);
	CHECK(!strncmp(err, prefix, strlen(prefix)), "%s: want line %d: %s",
	      c->what, c->line, err);
	CHECK(has_words(err, c->words, 3), "%s: wrong message: %s", c->what,
	      err);
	CHECK(cfg.sas == NULL && cfg.n_sas == 0 && cfg.conns == NULL &&
		      cfg.n_conns == 0,
	      "%s: cfg freed", c->what);
}

static void test_bad_cases(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		test_bad(&bad_cases[i]);
}

/* Writes [daemon] with max_policies = 16, then n policies of 6 lines. */
static void capacity_conf(const char *name, unsigned int n)
{
	size_t len = 64 + n * 128;
	char *text = malloc(len), *p = text;

	p += sprintf(p, "[daemon]\nmax_policies = 16\n");
	for (unsigned int i = 0; i < n; i++)
		p += sprintf(p,
			     "[policy p%u]\ndir = out\nsrc = 10.1.0.0/16\n"
			     "dst = 10.0.%u.0/24\naction = bypass\n\n",
			     i, i);
	write_file(name, text, 0644);
	free(text);
}

/* The capacities: defaults, a setting taken, and a file that overflows. */
static void test_capacity(void)
{
	char err[CONFIG_ERR_MAX] = "", path[PATH_MAX], want[PATH_MAX + 64];
	struct config cfg;
	int rc;

	write_file("cap.conf", "[daemon]\nmax_sas = 200016\n", 0644);
	conf_path("cap.conf", path, sizeof(path));
	rc = config_load(path, &cfg, err, sizeof(err));
	CHECK(rc == 0 && cfg.daemon.max_sas == 200016 &&
		      cfg.daemon.max_policies == XDPSEC_MAX_POLICIES,
	      "max_sas taken, max_policies default: %s", err);
	config_free(&cfg);

	capacity_conf("cap16.conf", 16);
	conf_path("cap16.conf", path, sizeof(path));
	rc = config_load(path, &cfg, err, sizeof(err));
	CHECK(rc == 0 && cfg.n_policies == 16, "16 policies fit 16: %s", err);
	config_free(&cfg);

	/* The 17th policy's header: 2 lines of [daemon], 6 per policy. */
	capacity_conf("cap17.conf", 17);
	conf_path("cap17.conf", path, sizeof(path));
	rc = config_load(path, &cfg, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:%d: [policy p16] is one more than "
		 "max_policies = 16 allows", path, 2 + 16 * 6 + 1);
	CHECK(rc == -EINVAL && !strcmp(err, want), "17 policies: %s", err);
}

static void test_missing_file(void)
{
	char err[CONFIG_ERR_MAX] = "", path[PATH_MAX];
	struct config cfg;

	conf_path("nope.conf", path, sizeof(path));
	CHECK(config_load(path, &cfg, err, sizeof(err)) == -ENOENT,
	      "missing file: %s", err);
	CHECK(strstr(err, "nope.conf") && strstr(err, "No such file"),
	      "missing file message: %s", err);
}

static void test_prefixes(void)
{
	struct xdpsec_addr a;
	uint8_t fam = 0, plen = 0;

	CHECK(!config_parse_prefix("192.0.2.0/24", &fam, &a, &plen) &&
		      fam == XDPSEC_AF_INET && plen == 24 &&
		      addr_is(&a, AF_INET, "192.0.2.0"),
	      "192.0.2.0/24");
	CHECK(!config_parse_prefix("2001:db8:1::/48", &fam, &a, &plen) &&
		      fam == XDPSEC_AF_INET6 && plen == 48,
	      "2001:db8:1::/48");
	CHECK(!config_parse_prefix("2001:db8::1", &fam, &a, &plen) &&
		      plen == 128,
	      "bare IPv6 is /128");
	CHECK(!config_parse_prefix("0.0.0.0/0", &fam, &a, &plen) && plen == 0,
	      "0/0");
	CHECK(!config_parse_prefix("10.0.0.128/25", &fam, &a, &plen),
	      "/25 without host bits");
	CHECK(config_parse_prefix("10.0.0.129/25", &fam, &a, &plen) ==
		      -EINVAL,
	      "/25 with host bits");
	CHECK(config_parse_prefix("192.0.2.1/24", &fam, &a, &plen) == -EINVAL,
	      "host bits set");
	CHECK(config_parse_prefix("10.0.0.0/", &fam, &a, &plen) == -EINVAL,
	      "empty length");
	CHECK(config_parse_prefix("10.0.0.0/-1", &fam, &a, &plen) == -EINVAL,
	      "negative length");
	CHECK(config_parse_prefix("::/129", &fam, &a, &plen) == -EINVAL,
	      "/129");
	CHECK(config_parse_prefix("fe80::1%eth0", &fam, &a, &plen) == -EINVAL,
	      "zone");
	CHECK(config_parse_addr("10.1.2.3", &fam, &a) == 0 &&
		      fam == XDPSEC_AF_INET && a.v4 == htonl(0x0a010203),
	      "addr v4");
	CHECK(config_parse_addr("10.1.2.3/32", &fam, &a) == -EINVAL,
	      "addr with a length");
}

static void test_names(void)
{
	uint8_t act = 0xff;

	CHECK(!config_parse_action("protect", &act) &&
		      act == XDPSEC_ACT_PROTECT,
	      "protect");
	CHECK(!config_parse_action("bypass", &act) && act == XDPSEC_ACT_BYPASS,
	      "bypass");
	CHECK(!config_parse_action("discard", &act) &&
		      act == XDPSEC_ACT_DISCARD,
	      "discard");
	CHECK(config_parse_action("drop", &act) == -EINVAL, "drop");
	CHECK(!strcmp(config_action_name(XDPSEC_ACT_BYPASS), "bypass"),
	      "action name");
	CHECK(!strcmp(config_mode_name(XDPSEC_MODE_TUNNEL), "tunnel"),
	      "mode name");
	CHECK(!strcmp(config_mode_name(XDPSEC_MODE_TRANSPORT), "transport"),
	      "transport name");
	CHECK(!strcmp(config_dir_name(XDPSEC_DIR_IN), "in") &&
		      !strcmp(config_dir_name(XDPSEC_DIR_OUT), "out"),
	      "dir names");
}

static void test_key_file_read(void)
{
	char err[CONFIG_ERR_MAX] = "", path[PATH_MAX];
	uint8_t key[36];

	conf_path("keys/out.key", path, sizeof(path));
	CHECK(!config_key_file_read(path, key, 20, err, sizeof(err)) &&
		      key[0] == 0x00 && key[15] == 0x0f && key[19] == 0xa3,
	      "exact length: %s", err);
	CHECK(config_key_file_read(path, key, 36, err, sizeof(err)) ==
			      -EINVAL &&
		      strstr(err, "holds 20 bytes; 36 expected"),
	      "too short: %s", err);
	CHECK(config_key_file_read(path, key, 16, err, sizeof(err)) ==
			      -EINVAL &&
		      strstr(err, "holds 20 bytes; 16 expected"),
	      "too long: %s", err);
	conf_path("keys/open.key", path, sizeof(path));
	CHECK(config_key_file_read(path, key, 20, err, sizeof(err)) ==
			      -EINVAL &&
		      strstr(err, "chmod 600"),
	      "mode: %s", err);
}

/* The setters as control requests use them, without a file. */
static void test_setters(void)
{
	char err[CONFIG_ERR_MAX] = "";
	struct policy_conf p;
	struct sa_conf sa;

	config_policy_init(&p, "ctl");
	CHECK(p.pol.priority == 32768, "initial priority %u", p.pol.priority);
	CHECK(!config_policy_set(&p, "dst", "10.0.0.0/8", err, sizeof(err)),
	      "dst: %s", err);
	CHECK(p.pol.priority == 32768 - 64 * 8, "priority follows dst %u",
	      p.pol.priority);
	CHECK(!config_policy_set(&p, "priority", "7", err, sizeof(err)) &&
		      !config_policy_set(&p, "src", "10.0.0.0/8", err,
					 sizeof(err)) &&
		      p.pol.priority == 7,
	      "explicit priority stays");
	CHECK(config_policy_check(&p, err, sizeof(err)) == -EINVAL &&
		      strstr(err, "dir") && strstr(err, "action"),
	      "missing dir and action: %s", err);

	config_sa_init(&sa, "ctl-sa");
	CHECK(config_sa_set(&sa, "bogus", "1", NULL, err, sizeof(err)) ==
			      -EINVAL &&
		      strstr(err, "known keys: dir, spi"),
	      "unknown key lists keys: %s", err);
	CHECK(!config_sa_set(&sa, "spi", "0xffffffff", NULL, err,
			     sizeof(err)) &&
		      sa.sa.spi == 0xffffffffu,
	      "spi max");
	CHECK(!config_sa_set(&sa, "spi", "0400", NULL, err, sizeof(err)) &&
		      sa.sa.spi == 400,
	      "decimal, not octal: %u", sa.sa.spi);
	CHECK(config_sa_set(&sa, "sel_proto", "icmp", NULL, err, sizeof(err)) ==
			      0 &&
		      config_sa_set(&sa, "sel_src", "2001:db8::/32", NULL, err,
				    sizeof(err)) == -EINVAL &&
		      strstr(err, "icmpv6"),
	      "icmp with IPv6 selector: %s", err);
	explicit_bzero(&sa, sizeof(sa));
}

/* Every transform, with the key file it needs, spelled out. */
struct key_case {
	const char *proto;
	const char *alg;	/* NULL: not set */
	const char *integ;
	size_t need;
	const char *desc;
};

static const struct key_case key_cases[] = {
	{ "esp", "aes-gcm-128", NULL, 20,
	  "aes-gcm-128 needs 20 bytes: 16 cipher key + 4 salt" },
	{ "esp", "aes-gcm-256", NULL, 36,
	  "aes-gcm-256 needs 36 bytes: 32 cipher key + 4 salt" },
	{ "esp", "chacha20-poly1305", NULL, 36,
	  "chacha20-poly1305 needs 36 bytes: 32 cipher key + 4 salt" },
	{ "esp", "aes-gmac-128", NULL, 20,
	  "aes-gmac-128 needs 20 bytes: 16 cipher key + 4 salt" },
	{ "esp", "aes-gmac-256", NULL, 36,
	  "aes-gmac-256 needs 36 bytes: 32 cipher key + 4 salt" },
	{ "esp", "aes-cbc-128", "hmac-sha256-128", 48,
	  "aes-cbc-128 + hmac-sha256-128 needs 48 bytes: 16 cipher key + 32 integrity key" },
	{ "esp", "aes-cbc-128", "hmac-sha384-192", 64,
	  "aes-cbc-128 + hmac-sha384-192 needs 64 bytes: 16 cipher key + 48 integrity key" },
	{ "esp", "aes-cbc-128", "hmac-sha512-256", 80,
	  "aes-cbc-128 + hmac-sha512-256 needs 80 bytes: 16 cipher key + 64 integrity key" },
	{ "esp", "aes-cbc-256", "hmac-sha256-128", 64,
	  "aes-cbc-256 + hmac-sha256-128 needs 64 bytes: 32 cipher key + 32 integrity key" },
	{ "esp", "aes-cbc-256", "hmac-sha384-192", 80,
	  "aes-cbc-256 + hmac-sha384-192 needs 80 bytes: 32 cipher key + 48 integrity key" },
	{ "esp", "aes-cbc-256", "hmac-sha512-256", 96,
	  "aes-cbc-256 + hmac-sha512-256 needs 96 bytes: 32 cipher key + 64 integrity key" },
	{ "esp", "null", "hmac-sha256-128", 32,
	  "null + hmac-sha256-128 needs 32 bytes: 32 integrity key" },
	{ "esp", "null", "hmac-sha384-192", 48,
	  "null + hmac-sha384-192 needs 48 bytes: 48 integrity key" },
	{ "esp", "null", "hmac-sha512-256", 64,
	  "null + hmac-sha512-256 needs 64 bytes: 64 integrity key" },
	{ "ah", NULL, "hmac-sha256-128", 32,
	  "hmac-sha256-128 needs 32 bytes: 32 integrity key" },
	{ "ah", NULL, "hmac-sha384-192", 48,
	  "hmac-sha384-192 needs 48 bytes: 48 integrity key" },
	{ "ah", "none", "hmac-sha512-256", 64,
	  "hmac-sha512-256 needs 64 bytes: 64 integrity key" },
};

/* Sets key = value pairs (NULL values skipped); false on the first error. */
static bool sa_set_all(struct sa_conf *sa, const char *const *kv, size_t n,
		       char *err, size_t errlen)
{
	for (size_t i = 0; i + 1 < n; i += 2) {
		if (!kv[i + 1])
			continue;
		if (config_sa_set(sa, kv[i], kv[i + 1], tmpdir, err, errlen))
			return false;
	}
	return true;
}

/* One transform with the right key file, then with one of another size. */
static void test_key_case(const struct key_case *c)
{
	char err[CONFIG_ERR_MAX] = "", right[32], wrong[32];
	const char *kv[] = {
		"proto", c->proto, "dir", "out", "spi", "300",
		"src", "192.0.2.1", "dst", "192.0.2.2",
		"sel_src", "10.1.0.0/16", "sel_dst", "10.2.0.0/16",
		"alg", c->alg, "integ", c->integ, "key_file", right,
	};
	struct sa_conf sa;

	snprintf(right, sizeof(right), "keys/k%zu.key", c->need);
	snprintf(wrong, sizeof(wrong), "keys/k%d.key", c->need == 20 ? 36 : 20);
	config_sa_init(&sa, "k");
	CHECK(sa_set_all(&sa, kv, sizeof(kv) / sizeof(kv[0]), err,
			 sizeof(err)) &&
		      !config_sa_check(&sa, err, sizeof(err)),
	      "%s: %s", c->desc, err);
	CHECK(key_pattern_is(&sa, c->need), "%s: key bytes", c->desc);

	err[0] = '\0';
	CHECK(!config_sa_set(&sa, "key_file", wrong, tmpdir, err,
			     sizeof(err)) &&
		      config_sa_check(&sa, err, sizeof(err)) == -EINVAL &&
		      strstr(err, "[sa k]: key_file holds") &&
		      strstr(err, c->desc),
	      "%s: wrong length: %s", c->desc, err);
	explicit_bzero(&sa, sizeof(sa));
}

static void test_key_lengths(void)
{
	for (size_t i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++)
		test_key_case(&key_cases[i]);
}

/* Lifetime values with and without units. */
static void test_lifetimes(void)
{
	static const struct {
		const char *key, *val;
		uint64_t want;
	} cases[] = {
		{ "soft_bytes", "0", 0 },
		{ "soft_bytes", "1000", 1000 },
		{ "soft_bytes", "512K", 512ull << 10 },
		{ "soft_bytes", "3M", 3ull << 20 },
		{ "soft_bytes", "2G", 2ull << 30 },
		{ "soft_bytes", "2g", 2ull << 30 },
		{ "soft_bytes", "16777215G", 16777215ull << 30 },
		{ "soft_packets", "4294967296", 4294967296ull },
		{ "soft_seconds", "90", 90 },
		{ "soft_seconds", "90s", 90 },
		{ "soft_seconds", "15m", 900 },
		{ "soft_seconds", "8h", 28800 },
		{ "soft_seconds", "2d", 172800 },
	};
	char err[CONFIG_ERR_MAX] = "";
	struct sa_conf sa;
	uint64_t got;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_sa_init(&sa, "life");
		CHECK(!config_sa_set(&sa, cases[i].key, cases[i].val, NULL,
				     err, sizeof(err)),
		      "%s = %s: %s", cases[i].key, cases[i].val, err);
		got = !strcmp(cases[i].key, "soft_bytes") ? sa.sa.soft.bytes :
		      !strcmp(cases[i].key, "soft_packets") ?
							    sa.sa.soft.packets :
							    sa.sa.soft.seconds;
		CHECK(got == cases[i].want, "%s = %s: %llu", cases[i].key,
		      cases[i].val, (unsigned long long)got);
	}

	/* Equal limits are fine; the hard one set first, the soft above. */
	config_sa_init(&sa, "life");
	CHECK(!config_sa_set(&sa, "hard_bytes", "1M", NULL, err, sizeof(err)) &&
		      !config_sa_set(&sa, "soft_bytes", "1024K", NULL, err,
				     sizeof(err)),
	      "soft = hard: %s", err);
	CHECK(sa.sa.hard.bytes == 1 << 20 && sa.sa.soft.bytes == 1 << 20,
	      "1M = 1024K");
	CHECK(!config_sa_set(&sa, "hard_seconds", "1h", NULL, err,
			     sizeof(err)) &&
		      config_sa_set(&sa, "soft_seconds", "3601", NULL, err,
				    sizeof(err)) == -EINVAL &&
		      strstr(err, "soft_seconds 3601s exceeds hard_seconds 1h"),
	      "soft above hard: %s", err);
}

/*
 * Control requests set keys in any order: the defaults that depend on
 * other keys follow each one.
 */
static void test_sa_defaults(void)
{
	static const char *const transport[] = {
		"dst", "2001:db8::2", "mode", "transport", "src", "2001:db8::1",
		"dir", "out", "spi", "0x500", "alg", "aes-gcm-256",
		"key_file", "keys/k36.key",
	};
	char err[CONFIG_ERR_MAX] = "";
	struct sa_conf sa;

	config_sa_init(&sa, "t");
	CHECK(sa_set_all(&sa, transport,
			 sizeof(transport) / sizeof(transport[0]), err,
			 sizeof(err)) &&
		      !config_sa_check(&sa, err, sizeof(err)),
	      "transport via setters: %s", err);
	CHECK(sel_is(&sa.sa.sel, AF_INET6, "2001:db8::1", 128, "2001:db8::2",
		     128),
	      "transport selectors /128");
	CHECK(!config_sa_set(&sa, "sel_src", "2001:db8::1", NULL, err,
			     sizeof(err)),
	      "the host itself as sel_src: %s", err);
	CHECK(config_sa_set(&sa, "sel_dst", "2001:db8::2/127", NULL, err,
			    sizeof(err)) == -EINVAL &&
		      strstr(err, "sel_dst must be dst 2001:db8::2/128"),
	      "a /127 around the host is refused: %s", err);
	explicit_bzero(&sa, sizeof(sa));

	config_sa_init(&sa, "e");
	CHECK(sa.sa.encap_sport == 0 && sa.sa.encap_dport == 0,
	      "no encap ports by default");
	CHECK(!config_sa_set(&sa, "encap_sport", "1234", NULL, err,
			     sizeof(err)) &&
		      !config_sa_set(&sa, "encap", "yes", NULL, err,
				     sizeof(err)),
	      "encap_sport before encap: %s", err);
	CHECK(sa.sa.encap_sport == 1234 && sa.sa.encap_dport == 4500 &&
		      (sa.sa.flags & XDPSEC_SA_F_UDP_ENCAP),
	      "encap ports %u %u", sa.sa.encap_sport, sa.sa.encap_dport);
	config_sa_init(&sa, "e");
	CHECK(!config_sa_set(&sa, "encap_dport", "4501", NULL, err,
			     sizeof(err)) &&
		      config_sa_set(&sa, "encap", "no", NULL, err,
				    sizeof(err)) == -EINVAL &&
		      strstr(err, "encap_dport needs encap = yes"),
	      "encap = no after a port: %s", err);
}

static void test_sa_names(void)
{
	CHECK(!strcmp(config_proto_name(XDPSEC_IPPROTO_ESP), "esp") &&
		      !strcmp(config_proto_name(XDPSEC_IPPROTO_AH), "ah") &&
		      !strcmp(config_proto_name(6), "?"),
	      "proto names");
	CHECK(!strcmp(config_alg_name(XDPSEC_ALG_AES_CBC_256), "aes-cbc-256") &&
		      config_alg_name(XDPSEC_ALG_NONE) == NULL,
	      "alg names");
	CHECK(!strcmp(config_integ_name(XDPSEC_INTEG_HMAC_SHA384_192),
		      "hmac-sha384-192") &&
		      config_integ_name(XDPSEC_INTEG_NONE) == NULL,
	      "integ names");
	CHECK(!strcmp(config_expired_name(0), ""), "not expired");
	CHECK(!strcmp(config_expired_name(XDPSEC_EXPIRE_SOFT), "soft") &&
		      !strcmp(config_expired_name(XDPSEC_EXPIRE_SOFT |
						  XDPSEC_EXPIRE_HARD),
			      "hard"),
	      "expired names");
}

/* ---- [conn NAME] ------------------------------------------------------ */

static const char conn_conf[] =
	"[conn site]\n"							/* 1 */
	"local = 198.51.100.1\n"					/* 2 */
	"remote = 198.51.100.2\n"					/* 3 */
	"local_id = gw1.example.net\n"					/* 4 */
	"remote_id = admin@example.net\n"				/* 5 */
	"auth = psk\n"							/* 6 */
	"psk_file = keys/site.psk\n"					/* 7 */
	"ike = aes-cbc-256/hmac-sha384-192/prf-sha384/ecp384, "
	"chacha20-poly1305/prf-sha512/modp3072\n"			/* 8 */
	"esp = aes-gcm-128/curve25519/esn, "
	"aes-cbc-128 / hmac-sha512-256 / noesn,aes-gmac-256\n"		/* 9 */
	"local_ts = 192.0.2.0/24, 2001:db8:1::/64\n"			/* 10 */
	"remote_ts = 203.0.113.0/24\n"					/* 11 */
	"mode = tunnel\n"						/* 12 */
	"start = initiate\n"						/* 13 */
	"ike_lifetime = 8h\n"						/* 14 */
	"child_lifetime = 30m\n"					/* 15 */
	"child_bytes = 4G\n"						/* 16 */
	"child_packets = 1000000\n"					/* 17 */
	"dpd = 0\n"							/* 18 */
	"encap = yes\n"							/* 19 */
	"port = 4500\n"							/* 20 */
	"cookie_threshold = 50\n"					/* 21 */
	"\n"								/* 22 */
	"; A responder for anyone, with the defaults.\n"		/* 23 */
	"[conn rw]\n"							/* 24 */
	"local = 2001:db8::1\n"						/* 25 */
	"remote = any\n"						/* 26 */
	"auth = psk\n"							/* 27 */
	"psk_file = keys/hex.psk\n"					/* 28 */
	"local_ts = 2001:db8:1::/64\n"					/* 29 */
	"remote_ts = ::/0\n"						/* 30 */
	"\n"								/* 31 */
	"[conn host]  # transport between two hosts\n"			/* 32 */
	"remote_ts = 192.0.2.2\n"					/* 33 */
	"local_ts = 192.0.2.1/32\n"					/* 34 */
	"mode = transport\n"						/* 35 */
	"remote = 192.0.2.2\n"						/* 36 */
	"local = 192.0.2.1\n"						/* 37 */
	"psk_file = keys/crlf.psk\n"					/* 38 */
	"auth = psk\n"							/* 39 */
	"start = trap\n"						/* 40 */
	"\n"								/* 41 */
	"[sa out-1]\n"							/* 42 */
	"dir = out\n"							/* 43 */
	"spi = 0x1000\n"						/* 44 */
	"src = 192.0.2.1\n"						/* 45 */
	"dst = 198.51.100.1\n"						/* 46 */
	"alg = aes-gcm-128\n"						/* 47 */
	"key_file = keys/out.key\n"					/* 48 */
	"sel_src = 10.1.0.0/16\n"					/* 49 */
	"sel_dst = 10.2.0.0/16\n";					/* 50 */

static bool prop_is(const struct conn_proposal *p, uint16_t encr,
		    uint16_t bits, uint16_t integ, uint16_t prf,
		    uint16_t group, uint8_t esn)
{
	return p->encr == encr && p->encr_bits == bits && p->integ == integ &&
	       p->prf == prf && p->group == group && p->esn == esn;
}

static bool ts_is(const struct conn_ts *ts, int family, const char *addr,
		  unsigned int plen)
{
	return ts->family == family && ts->plen == plen &&
	       addr_is(&ts->addr, family, addr);
}

static bool id_is(const struct conn_id *id, uint8_t type, const void *data,
		  size_t len, const char *text)
{
	return id->type == type && !id->any && id->len == len &&
	       !memcmp(id->data, data, len) && !strcmp(id->text, text);
}

static void check_conn_site(const struct conn_conf *c)
{
	struct in_addr a;

	CHECK(!strcmp(c->name, "site") && c->line == 1, "site name %s line %d",
	      c->name, c->line);
	CHECK(c->family == AF_INET && !c->local_any && !c->remote_any,
	      "site family %u", c->family);
	CHECK(addr_is(&c->local, AF_INET, "198.51.100.1") &&
		      addr_is(&c->remote, AF_INET, "198.51.100.2"),
	      "site addresses");
	CHECK(id_is(&c->local_id, IKE_ID_FQDN, "gw1.example.net", 15,
		    "gw1.example.net"),
	      "site local_id type %u len %u", c->local_id.type,
	      c->local_id.len);
	CHECK(id_is(&c->remote_id, IKE_ID_RFC822_ADDR, "admin@example.net", 17,
		    "admin@example.net"),
	      "site remote_id type %u", c->remote_id.type);
	CHECK(c->auth == CONN_AUTH_PSK, "site auth %u", c->auth);
	CHECK(c->psk_len == strlen(psk_text) &&
		      !memcmp(c->psk, psk_text, c->psk_len),
	      "site psk: %zu bytes, the trailing newline dropped", c->psk_len);

	CHECK(c->n_ike == 2, "site n_ike %u", c->n_ike);
	CHECK(prop_is(&c->ike[0], IKE_ENCR_AES_CBC, 256,
		      IKE_INTEG_HMAC_SHA2_384_192, IKE_PRF_HMAC_SHA2_384,
		      IKE_GROUP_ECP_384, 0),
	      "site ike[0] %u/%u/%u/%u/%u", c->ike[0].encr, c->ike[0].encr_bits,
	      c->ike[0].integ, c->ike[0].prf, c->ike[0].group);
	CHECK(prop_is(&c->ike[1], IKE_ENCR_CHACHA20_POLY1305, 0, 0,
		      IKE_PRF_HMAC_SHA2_512, IKE_GROUP_MODP_3072, 0),
	      "site ike[1]");
	CHECK(c->n_esp == 3, "site n_esp %u", c->n_esp);
	CHECK(prop_is(&c->esp[0], IKE_ENCR_AES_GCM_16, 128, 0, 0,
		      IKE_GROUP_CURVE25519, CONN_ESN_YES),
	      "site esp[0] esn %u group %u", c->esp[0].esn, c->esp[0].group);
	CHECK(prop_is(&c->esp[1], IKE_ENCR_AES_CBC, 128,
		      IKE_INTEG_HMAC_SHA2_512_256, 0, 0, CONN_ESN_NO),
	      "site esp[1]");
	CHECK(prop_is(&c->esp[2], IKE_ENCR_NULL_AUTH_AES_GMAC, 256, 0, 0, 0,
		      CONN_ESN_NO | CONN_ESN_YES),
	      "site esp[2]");

	CHECK(c->n_local_ts == 2 &&
		      ts_is(&c->local_ts[0], AF_INET, "192.0.2.0", 24) &&
		      ts_is(&c->local_ts[1], AF_INET6, "2001:db8:1::", 64),
	      "site local_ts");
	CHECK(c->n_remote_ts == 1 &&
		      ts_is(&c->remote_ts[0], AF_INET, "203.0.113.0", 24),
	      "site remote_ts");
	CHECK(c->mode == XDPSEC_MODE_TUNNEL && c->start == CONN_START_INITIATE,
	      "site mode %u start %u", c->mode, c->start);
	CHECK(c->ike_lifetime == 8 * 3600 && c->child_lifetime == 30 * 60,
	      "site lifetimes %u %u", c->ike_lifetime, c->child_lifetime);
	CHECK(c->child_bytes == 4ull << 30 && c->child_packets == 1000000,
	      "site child limits");
	CHECK(c->dpd == 0 && c->encap == CONN_ENCAP_YES &&
		      c->remote_port == 4500 && c->cookie_threshold == 50,
	      "site dpd %u encap %u port %u cookies %u", c->dpd, c->encap,
	      c->remote_port, c->cookie_threshold);
	inet_pton(AF_INET, "198.51.100.1", &a);
	CHECK(!memcmp(&a, c->local.v6, 4), "site local bytes");
}

static void check_conn_rw(const struct conn_conf *c)
{
	static const uint8_t psk[] = {
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
		0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	};
	uint8_t v6[16];

	inet_pton(AF_INET6, "2001:db8::1", v6);
	CHECK(c->line == 24 && c->family == AF_INET6 && !c->local_any &&
		      c->remote_any,
	      "rw line %d family %u", c->line, c->family);
	CHECK(id_is(&c->local_id, IKE_ID_IPV6_ADDR, v6, 16, "2001:db8::1"),
	      "rw local_id defaults to the address: type %u len %u",
	      c->local_id.type, c->local_id.len);
	CHECK(c->remote_id.any, "rw remote_id defaults to any");
	CHECK(c->psk_len == sizeof(psk) && !memcmp(c->psk, psk, sizeof(psk)),
	      "rw hex psk %zu bytes", c->psk_len);

	/* The defaults of everything else. */
	CHECK(c->n_ike == 2 &&
		      prop_is(&c->ike[0], IKE_ENCR_AES_GCM_16, 256, 0,
			      IKE_PRF_HMAC_SHA2_256, IKE_GROUP_CURVE25519, 0) &&
		      prop_is(&c->ike[1], IKE_ENCR_AES_GCM_16, 128, 0,
			      IKE_PRF_HMAC_SHA2_256, IKE_GROUP_ECP_256, 0),
	      "rw default ike");
	CHECK(c->n_esp == 2 &&
		      prop_is(&c->esp[0], IKE_ENCR_AES_GCM_16, 256, 0, 0, 0,
			      CONN_ESN_NO | CONN_ESN_YES) &&
		      prop_is(&c->esp[1], IKE_ENCR_AES_GCM_16, 128, 0, 0, 0,
			      CONN_ESN_NO | CONN_ESN_YES),
	      "rw default esp");
	CHECK(c->n_remote_ts == 1 && ts_is(&c->remote_ts[0], AF_INET6, "::", 0),
	      "rw remote_ts");
	CHECK(c->mode == XDPSEC_MODE_TUNNEL && c->start == CONN_START_WAIT &&
		      c->encap == CONN_ENCAP_AUTO && c->remote_port == 500,
	      "rw mode %u start %u encap %u port %u", c->mode, c->start,
	      c->encap, c->remote_port);
	CHECK(c->ike_lifetime == 4 * 3600 && c->child_lifetime == 3600 &&
		      c->child_bytes == 0 && c->child_packets == 0 &&
		      c->dpd == 30 && c->cookie_threshold == 100,
	      "rw default lifetimes %u %u dpd %u cookies %u", c->ike_lifetime,
	      c->child_lifetime, c->dpd, c->cookie_threshold);
}

static void check_conn_host(const struct conn_conf *c)
{
	static const uint8_t local[] = { 192, 0, 2, 1 };
	static const uint8_t remote[] = { 192, 0, 2, 2 };

	CHECK(c->mode == XDPSEC_MODE_TRANSPORT && c->start == CONN_START_TRAP,
	      "host mode %u start %u", c->mode, c->start);
	CHECK(id_is(&c->local_id, IKE_ID_IPV4_ADDR, local, 4, "192.0.2.1") &&
		      id_is(&c->remote_id, IKE_ID_IPV4_ADDR, remote, 4,
			    "192.0.2.2"),
	      "host ids from the addresses: %u %u", c->local_id.type,
	      c->remote_id.type);
	CHECK(ts_is(&c->local_ts[0], AF_INET, "192.0.2.1", 32) &&
		      ts_is(&c->remote_ts[0], AF_INET, "192.0.2.2", 32),
	      "host selectors");
	CHECK(c->psk_len == 16 && !memcmp(c->psk, "sixteen-byte-key", 16),
	      "host psk: CRLF dropped, %zu bytes", c->psk_len);
}

static void test_conn_full(void)
{
	char err[CONFIG_ERR_MAX] = "", path[PATH_MAX];
	struct config cfg;
	int rc;

	CHECK(!write_file("conn.conf", conn_conf, 0644), "write conn.conf");
	conf_path("conn.conf", path, sizeof(path));
	rc = config_load(path, &cfg, err, sizeof(err));
	CHECK(rc == 0, "conn.conf: %d %s", rc, err);
	if (rc)
		return;
	CHECK(cfg.n_conns == 3 && cfg.n_sas == 1, "n_conns %zu n_sas %zu",
	      cfg.n_conns, cfg.n_sas);
	if (cfg.n_conns == 3) {
		check_conn_site(&cfg.conns[0]);
		check_conn_rw(&cfg.conns[1]);
		check_conn_host(&cfg.conns[2]);
	}
	config_free(&cfg);
	CHECK(cfg.conns == NULL && cfg.n_conns == 0, "config_free conns");
}

/* Everything a [conn] needs; the next line is line 8. */
#define CONN_OK(name)							\
	"[conn " name "]\n"		/* 1 */				\
	"local = 192.0.2.1\n"		/* 2 */				\
	"remote = 192.0.2.2\n"		/* 3 */				\
	"auth = psk\n"			/* 4 */				\
	"psk_file = keys/site.psk\n"	/* 5 */				\
	"local_ts = 10.1.0.0/16\n"	/* 6 */				\
	"remote_ts = 10.2.0.0/16\n"	/* 7 */

/* The same without local: it defaults to any. */
#define CONN_ANY_LOCAL(name)						\
	"[conn " name "]\n"		/* 1 */				\
	"remote = 192.0.2.2\n"		/* 2 */				\
	"auth = psk\n"			/* 3 */				\
	"psk_file = keys/site.psk\n"	/* 4 */				\
	"local_ts = 10.1.0.0/16\n"	/* 5 */				\
	"remote_ts = 10.2.0.0/16\n"	/* 6 */

#define NINE_TIMES(s) s s s s s s s s s

static const struct bad_case conn_bad_cases[] = {
	/* Sections and keys */
	{ "conn twice", CONN_OK("a") "\n" CONN_OK("a"), 9,
	  { "duplicate [conn a]", "line 1" } },
	{ "conn unknown key", CONN_OK("a") "colour = blue\n", 8,
	  { "unknown key 'colour' in [conn]", "psk_file",
	    "cookie_threshold" } },
	{ "conn missing keys", "\n[conn a]\nlocal = 192.0.2.1\n", 2,
	  { "[conn a] is missing required key(s)",
	    "remote, auth, local_ts, remote_ts" } },
	{ "conn missing psk_file", "[conn a]\nremote = 192.0.2.2\n"
	  "local_id = gw\nauth = psk\nlocal_ts = 10.0.0.0/8\n"
	  "remote_ts = 10.0.0.0/8\n[daemon]\n", 1,
	  { "[conn a] is missing required key(s): psk_file" } },
	{ "conn duplicate key", CONN_OK("a") "remote = 192.0.2.3\n", 8,
	  { "duplicate key 'remote'", "line 3" } },
	{ "conn empty value", "[conn a]\nlocal =\n", 2,
	  { "local has no value" } },
	{ "conn without a name", "[conn]\n", 1, { "[conn] needs a name" } },

	/* Addresses */
	{ "conn local any needs local_id", CONN_ANY_LOCAL("a"), 1,
	  { "[conn a] needs a local_id", "local is any" } },
	{ "conn remote any with initiate", "[conn a]\nremote = any\n"
	  "start = initiate\n", 3,
	  { "remote any needs start = wait", "start = initiate" } },
	{ "conn trap before remote any", "[conn a]\nstart = trap\n"
	  "remote = any\n", 3,
	  { "remote any needs start = wait", "start = trap" } },
	{ "conn mixed families", "[conn a]\nlocal = 192.0.2.1\n"
	  "remote = 2001:db8::2\n", 3,
	  { "remote 2001:db8::2 is IPv6 but local is IPv4",
	    "one family" } },
	{ "conn mixed families, remote first", "[conn a]\n"
	  "remote = 2001:db8::2\nlocal = 192.0.2.1\n", 3,
	  { "local 192.0.2.1 is IPv4 but remote is IPv6" } },
	{ "conn remote a name", "[conn a]\nremote = gw2.example.net\n", 2,
	  { "remote 'gw2.example.net' is invalid",
	    "IPv4 or IPv6 address, or any" } },
	{ "conn local a prefix", "[conn a]\nlocal = 192.0.2.0/24\n", 2,
	  { "local '192.0.2.0/24' is invalid" } },

	/* Identities */
	{ "conn DN without a type", CONN_OK("a") "local_id = CN=gw1, =x\n", 8,
	  { "local_id 'CN=gw1, =x' is not a distinguished name",
	    "is not TYPE=VALUE", "C=CH, O=Example" } },
	{ "conn DN with an unknown type", CONN_OK("a")
	  "remote_id = XQ=DE, CN=gw2\n", 8,
	  { "remote_id", "unknown attribute type 'XQ'" } },
	{ "conn local_id any", CONN_OK("a") "local_id = any\n", 8,
	  { "local_id any is invalid" } },
	{ "conn id with a blank", CONN_OK("a") "remote_id = gw 2\n", 8,
	  { "remote_id 'gw 2' is invalid", "domain name", "e-mail" } },
	{ "conn id with a bare @", CONN_OK("a")
	  "local_id = @gw1.example.net\n", 8,
	  { "not an e-mail address", "leave out the '@'" } },

	/* Authentication */
	{ "conn pubkey without its files", "[conn a]\nremote = 192.0.2.2\n"
	  "local_id = gw\nauth = pubkey\nlocal_ts = 10.0.0.0/8\n"
	  "remote_ts = 10.0.0.0/8\n[daemon]\n", 1,
	  { "[conn a] is missing required key(s): cert, key, ca" } },
	{ "conn pubkey with a missing cert", "[conn a]\n"
	  "remote = 192.0.2.2\nlocal_id = gw\nauth = pubkey\n"
	  "local_ts = 10.0.0.0/8\nremote_ts = 10.0.0.0/8\n"
	  "cert = nothere.pem\nkey = nothere.key\nca = nothere-ca.pem\n"
	  "[daemon]\n", 1,
	  { "[conn a]: cert", "nothere.pem: No such file or directory" } },
	{ "conn signature", CONN_OK("a") "signature = sha1\n", 8,
	  { "signature 'sha1' is invalid", "pss", "pkcs1" } },
	{ "conn auth eap", "[conn a]\nauth = eap\n", 2,
	  { "auth 'eap' is invalid", "use psk or pubkey" } },
	{ "conn psk readable", "[conn a]\npsk_file = keys/open.psk\n", 2,
	  { "psk_file keys/open.psk is readable by group or others",
	    "0644", "chmod 600" } },
	{ "conn psk short", "[conn a]\n\npsk_file = keys/short.psk\n", 3,
	  { "psk_file keys/short.psk holds 7 bytes", "at least 16",
	    "offline" } },
	{ "conn psk 15 bytes", "[conn a]\npsk_file = keys/fifteen.psk\n", 2,
	  { "holds 15 bytes", "at least 16" } },
	{ "conn psk empty", "[conn a]\npsk_file = keys/empty.psk\n", 2,
	  { "holds 0 bytes" } },
	{ "conn psk long", "[conn a]\npsk_file = keys/long.psk\n", 2,
	  { "psk_file keys/long.psk holds 300 bytes", "at most 256" } },
	{ "conn psk bad hex", "[conn a]\npsk_file = keys/badhex.psk\n", 2,
	  { "psk_file keys/badhex.psk: line 1: not a hex digit" } },
	{ "conn psk missing", "[conn a]\npsk_file = keys/none.psk\n", 2,
	  { "psk_file keys/none.psk", "No such file" } },
	{ "conn psk a directory", "[conn a]\npsk_file = keys\n", 2,
	  { "psk_file keys is not a regular file" } },

	/* Proposals: refused names */
	{ "conn ike 3des", CONN_OK("a") "ike = 3des/prf-sha256/ecp256\n", 8,
	  { "ike 3des is refused", "RFC 8247", "use aes-gcm-256" } },
	{ "conn esp des", CONN_OK("a") "esp = des/hmac-sha256-128\n", 8,
	  { "esp des is refused", "MUST NOT" } },
	{ "conn ike md5", CONN_OK("a")
	  "ike = aes-cbc-128/hmac-md5-96/prf-sha256/ecp256\n", 8,
	  { "ike hmac-md5-96 is refused", "MUST NOT" } },
	{ "conn ike prf-sha1", CONN_OK("a")
	  "ike = aes-gcm-128/prf-sha1/ecp256\n", 8,
	  { "ike prf-sha1 is refused", "SHA-1", "use prf-sha256" } },
	{ "conn esp sha1", CONN_OK("a")
	  "esp = aes-cbc-128/hmac-sha1-96\n", 8,
	  { "esp hmac-sha1-96 is refused", "SHA-1" } },
	{ "conn ike gmac", CONN_OK("a")
	  "ike = aes-gmac-128/prf-sha256/ecp256\n", 8,
	  { "ike aes-gmac-128 is refused", "does not encrypt" } },
	{ "conn ike modp1024", CONN_OK("a")
	  "ike = aes-gcm-128/prf-sha256/modp1024\n", 8,
	  { "ike proposal 1", "modp1024 is refused", "RFC 8247" } },
	{ "conn esp modp768", CONN_OK("a") "esp = aes-gcm-128/modp768\n", 8,
	  { "modp768 is refused", "MUST NOT" } },
	{ "conn ike modp1536", CONN_OK("a") "ike = aes-gcm-256/prf-sha256/"
	  "curve25519, aes-gcm-128/prf-sha256/modp1536\n", 8,
	  { "ike proposal 2", "modp1536 is refused" } },

	/* Proposals: what goes together */
	{ "conn ike without prf", CONN_OK("a") "ike = aes-gcm-256/curve25519\n",
	  8, { "ike proposal 1 (aes-gcm-256/curve25519) needs a PRF",
	       "prf-sha256" } },
	{ "conn ike without group", CONN_OK("a")
	  "ike = aes-gcm-256/prf-sha256\n", 8,
	  { "needs a group", "curve25519, ecp256" } },
	{ "conn cbc without integ", CONN_OK("a")
	  "ike = aes-cbc-128/prf-sha256/ecp256\n", 8,
	  { "aes-cbc-128 needs an integrity algorithm", "hmac-sha256-128" } },
	{ "conn gcm with integ", CONN_OK("a")
	  "esp = aes-gcm-128/hmac-sha256-128\n", 8,
	  { "esp proposal 1", "aes-gcm-128 is combined mode",
	    "drop hmac-sha256-128" } },
	{ "conn prf in esp", CONN_OK("a") "esp = aes-gcm-128/prf-sha256\n", 8,
	  { "prf-sha256 is for IKE only" } },
	{ "conn esn in ike", CONN_OK("a")
	  "ike = aes-gcm-128/prf-sha256/ecp256/esn\n", 8,
	  { "esn is for ESP only" } },
	{ "conn two encryptions", CONN_OK("a")
	  "esp = aes-gcm-128/aes-gcm-256\n", 8,
	  { "two encryption algorithms (aes-gcm-128 and aes-gcm-256)",
	    "another proposal" } },
	{ "conn two groups", CONN_OK("a")
	  "ike = aes-gcm-128/prf-sha256/ecp256/ecp384\n", 8,
	  { "two groups" } },
	{ "conn no encryption", CONN_OK("a") "ike = prf-sha256/ecp256\n", 8,
	  { "has no encryption algorithm", "aes-gcm-256" } },
	{ "conn unknown transform", CONN_OK("a")
	  "esp = aes-gcm-256, aes-ocb\n", 8,
	  { "esp proposal 2: unknown transform 'aes-ocb'",
	    "chacha20-poly1305", "noesn" } },
	{ "conn empty proposal", CONN_OK("a") "esp = aes-gcm-256,,\n", 8,
	  { "esp: proposal 2 is empty" } },
	{ "conn empty transform", CONN_OK("a")
	  "ike = aes-gcm-256//prf-sha256/ecp256\n", 8,
	  { "an empty transform" } },
	{ "conn too many proposals", CONN_OK("a")
	  "esp = " NINE_TIMES("aes-gcm-128,") "aes-gcm-256\n", 8,
	  { "esp: at most 8 proposals" } },

	/* Traffic selectors */
	{ "conn bad ts", "[conn a]\nlocal_ts = 10.1.0/16\n", 2,
	  { "local_ts: '10.1.0/16' is not an IPv4 or IPv6 prefix" } },
	{ "conn ts host bits",
	  "[conn a]\nremote_ts = 10.0.0.0/8, 10.1.0.1/16\n", 2, { "remote_ts: 10.1.0.1/16 has host bits set", "10.1.0.0/16" } },
	{ "conn ts empty item", "[conn a]\nlocal_ts = 10.0.0.0/8,\n", 2,
	  { "local_ts: an empty prefix" } },
	{ "conn too many ts", "[conn a]\nlocal_ts = "
	  NINE_TIMES("10.0.0.0/8, ") "10.0.0.0/8\n", 2,
	  { "local_ts: at most 8 prefixes" } },

	/* Transport mode */
	{ "conn transport with subnets", CONN_OK("a") "mode = transport\n", 8,
	  { "mode transport: local_ts must be local 192.0.2.1/32",
	    "the host itself", "not 10.1.0.0/16" } },
	{ "conn transport remote_ts", "[conn a]\nmode = transport\n"
	  "local = 2001:db8::1\nremote = 2001:db8::2\n"
	  "local_ts = 2001:db8::1\nremote_ts = 2001:db8::2, 2001:db8::3\n", 6,
	  { "remote_ts must be remote 2001:db8::2/128",
	    "not 2001:db8::3/128" } },
	{ "conn transport with local any", "[conn a]\nremote = 192.0.2.2\n"
	  "auth = psk\npsk_file = keys/site.psk\nlocal_ts = 10.1.0.0/16\n"
	  "remote_ts = 192.0.2.2\nlocal_id = gw1.example.net\n"
	  "mode = transport\n", 1,
	  { "mode transport needs a local address, not any" } },
	{ "conn transport with remote any", "[conn a]\nremote = any\n"
	  "mode = transport\n", 3,
	  { "mode transport needs a remote address" } },
	{ "conn bad mode", "[conn a]\nmode = beet\n", 2,
	  { "mode 'beet' is invalid", "tunnel or transport" } },

	/* The rest */
	{ "conn bad start", "[conn a]\nstart = now\n", 2,
	  { "start 'now' is invalid", "initiate, trap or wait" } },
	{ "conn bad encap", "[conn a]\nencap = no\n", 2,
	  { "encap 'no' is invalid", "auto", "yes" } },
	{ "conn port 0", "[conn a]\nport = 0\n", 2,
	  { "port '0' is invalid", "1-65535" } },
	{ "conn port too big", "[conn a]\nport = 65536\n", 2,
	  { "port '65536' is invalid" } },
	{ "conn ike_lifetime 0", "[conn a]\nike_lifetime = 0\n", 2,
	  { "ike_lifetime '0' is invalid", "above 0" } },
	{ "conn child_lifetime in weeks", "[conn a]\nchild_lifetime = 1w\n", 2,
	  { "child_lifetime '1w' is invalid", "s, m, h or d" } },
	{ "conn ike_lifetime too long", "[conn a]\nike_lifetime = 50000d\n", 2,
	  { "ike_lifetime 50000d is out of range", "4294967295" } },
	{ "conn child_bytes in T", "[conn a]\nchild_bytes = 10T\n", 2,
	  { "child_bytes '10T' is invalid", "K, M or G", "0 = no limit" } },
	{ "conn child_packets with a unit", "[conn a]\nchild_packets = 1K\n",
	  2, { "child_packets '1K' is invalid", "a number of packets" } },
	{ "conn child_bytes overflow", "[conn a]\n"
	  "child_bytes = 17179869184G\n", 2,
	  { "child_bytes 17179869184G is out of range" } },
	{ "conn negative dpd", "[conn a]\ndpd = -1\n", 2,
	  { "dpd '-1' is invalid", "0 = off" } },
	{ "conn cookie_threshold", "[conn a]\ncookie_threshold = lots\n", 2,
	  { "cookie_threshold 'lots' is invalid", "half-open" } },
	{ "conn key before any section", "remote = 192.0.2.2\n[conn a]\n", 1,
	  { "before any section", "[conn]" } },
};

static void test_conn_bad_cases(void)
{
	size_t n = sizeof(conn_bad_cases) / sizeof(conn_bad_cases[0]);

	for (size_t i = 0; i < n; i++)
		test_bad(&conn_bad_cases[i]);
}

/* No message about a pre-shared key may quote it. */
static void test_conn_psk_secret(void)
{
	static const char *const files[] = {
		"keys/short.psk", "keys/open.psk", "keys/long.psk",
		"keys/badhex.psk",
	};
	char err[CONFIG_ERR_MAX];
	struct conn_conf c;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		config_conn_init(&c, "s");
		err[0] = '\0';
		CHECK(config_conn_set(&c, "psk_file", files[i], tmpdir, err,
				      sizeof(err)) == -EINVAL,
		      "%s refused", files[i]);
		CHECK(!strstr(err, psk_short) && !strstr(err, "horse") &&
			      !strstr(err, "aaaa") && !strstr(err, "zz"),
		      "%s: the message quotes the secret: %s", files[i], err);
		CHECK(c.psk_len == 0, "%s: nothing kept", files[i]);
	}
	explicit_bzero(&c, sizeof(c));
}

static bool conn_set_all(struct conn_conf *c, const char *const *kv,
			 size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		if (config_conn_set(c, kv[i], kv[i + 1], tmpdir, err, errlen))
			return false;
	return true;
}

/* Control requests may set keys in any order, as the file may. */
static void test_conn_setters(void)
{
	static const char *const transport[] = {
		"mode", "transport", "local_ts", "192.0.2.1/32",
		"remote_ts", "192.0.2.2/32", "local", "192.0.2.1",
		"auth", "psk", "psk_file", "keys/site.psk",
		"remote", "192.0.2.2",
	};
	char err[CONFIG_ERR_MAX] = "";
	struct conn_conf c;

	config_conn_init(&c, "t");
	CHECK(config_conn_check(&c, err, sizeof(err)) == -EINVAL &&
		      strstr(err, "[conn t] is missing required key(s): remote, auth, local_ts, remote_ts"),
	      "an empty conn: %s", err);
	CHECK(conn_set_all(&c, transport,
			   sizeof(transport) / sizeof(transport[0]), err,
			   sizeof(err)) &&
		      !config_conn_check(&c, err, sizeof(err)),
	      "transport, keys in any order: %s", err);
	CHECK(c.remote_id.type == IKE_ID_IPV4_ADDR &&
		      !strcmp(c.remote_id.text, "192.0.2.2"),
	      "remote_id follows remote");
	CHECK(config_conn_set(&c, "remote", "192.0.2.9", NULL, err,
			      sizeof(err)) == -EINVAL &&
		      strstr(err, "remote_ts must be remote 192.0.2.9/32"),
	      "a new remote against the selectors: %s", err);
	CHECK(!strcmp(c.remote_id.text, "192.0.2.9"),
	      "remote_id follows the new remote: %s", c.remote_id.text);
	CHECK(!config_conn_set(&c, "remote", "192.0.2.2", NULL, err,
			       sizeof(err)) &&
		      !config_conn_set(&c, "remote_id", "gw2.example.net", NULL,
				       err, sizeof(err)) &&
		      !config_conn_set(&c, "remote", "192.0.2.2", NULL, err,
				       sizeof(err)) &&
		      !strcmp(c.remote_id.text, "gw2.example.net"),
	      "a remote_id that is set stays: %s", err);
	CHECK(config_conn_set(&c, "mtu", "1400", NULL, err, sizeof(err)) ==
			      -EINVAL &&
		      strstr(err, "unknown key 'mtu' in [conn]") &&
		      strstr(err, "local, remote, local_id"),
	      "unknown key: %s", err);
	explicit_bzero(&c, sizeof(c));

	config_conn_init(&c, "u");
	CHECK(!config_conn_set(&c, "esp", "aes-gcm-256/noesn", NULL, err,
			       sizeof(err)) &&
		      c.n_esp == 1 && c.esp[0].esn == CONN_ESN_NO,
	      "noesn alone");
	CHECK(config_conn_set(&c, "esp", "aes-gcm-256, 3des", NULL, err,
			      sizeof(err)) == -EINVAL &&
		      c.n_esp == 1,
	      "a refused list leaves the last good one");
	CHECK(!config_conn_set(&c, "psk_file", "keys/hex.psk", tmpdir, err,
			       sizeof(err)) &&
		      c.psk_len == 24,
	      "0x psk: %s", err);
	CHECK(!config_conn_set(&c, "remote_id", "203.0.113.7", NULL, err,
			       sizeof(err)) &&
		      c.remote_id.type == IKE_ID_IPV4_ADDR &&
		      c.remote_id.len == 4 && c.remote_id.data[0] == 203 &&
		      c.remote_id.data[3] == 7,
	      "an address as remote_id: %s", err);
	CHECK(!config_conn_set(&c, "local_id", "2001:db8::7", NULL, err,
			       sizeof(err)) &&
		      c.local_id.type == IKE_ID_IPV6_ADDR &&
		      c.local_id.len == 16 && c.local_id.data[15] == 7,
	      "an IPv6 address as local_id: %s", err);
	CHECK(conn_n_keys == 24 && !strcmp(conn_keys[0], "local") &&
		      !strcmp(conn_keys[conn_n_keys - 1], "signature"),
	      "conn_keys");
	CHECK(!config_conn_set(&c, "local_id", "C=CH, O=Example, CN=gw1",
			       NULL, err, sizeof(err)) &&
		      c.local_id.type == IKE_ID_DER_ASN1_DN &&
		      c.local_id.len > 20 && c.local_id.data[0] == 0x30 &&
		      !strcmp(c.local_id.text, "C=CH, O=Example, CN=gw1"),
	      "a distinguished name as local_id: %s", err);
	explicit_bzero(&c, sizeof(c));
}

int main(void)
{
	if (setup()) {
		printf("cannot set up %s\n", tmpdir);
		CHECK(0, "setup");
		teardown();
		return check_summary();
	}
	test_full();
	test_no_daemon();
	test_dataplane();
	test_bad_cases();
	test_missing_file();
	test_capacity();
	test_prefixes();
	test_names();
	test_key_file_read();
	test_setters();
	test_key_lengths();
	test_lifetimes();
	test_sa_defaults();
	test_sa_names();
	test_conn_full();
	test_conn_bad_cases();
	test_conn_psk_secret();
	test_conn_setters();
	teardown();
	return check_summary();
}
