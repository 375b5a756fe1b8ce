// SPDX-License-Identifier: GPL-2.0-only
/*
 * An in-memory benchmark of ESP's cryptography on one thread: xdpsec's
 * encap and decap next to bare AEAD library calls on the same payloads,
 * for AES-GCM-128, AES-GCM-256 and ChaCha20-Poly1305 and three packet
 * sizes.  xdpsec runs once per cipher backend of aead.c built in (OpenSSL,
 * and Intel's multi-buffer library for AES-GCM); the ratio of each to the
 * bare library it runs on is what ESP framing costs on top of the cipher.
 *
 * Each cell (transform, size) is measured in several runs of a fixed
 * time.  Within a run the backends take turns batch by batch (BENCH_BATCH
 * packets, as a worker takes them), so that load elsewhere on the machine
 * falls on all of them alike.  Only the seal and open calls are timed.
 * Before measuring, the backends must agree on the ciphertext; after every
 * batch each payload is compared with the original.  A broken path thus
 * cannot be measured: any failure makes the program exit with status 1.
 *
 * Usage: bench_crypto [-r REPS] [-t SECONDS] [-o JSON]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"
#include "bytes.h"
#include "iphdr.h"

enum bench_limits {
	BENCH_REPS_DEFAULT = 7,
	BENCH_REPS_MIN = 5,
	BENCH_REPS_MAX = 101,
	BENCH_ABOUT_LEN = 128,
	BENCH_IPV4_LEN = 20,
	BENCH_UDP_LEN = 8,
};

enum bench_dir {
	BENCH_OUT,	/* encap, seal */
	BENCH_IN,	/* decap, open */
	BENCH_NDIRS,
};

static const char *const bench_dir_names[] = { "out", "in" };

#define BENCH_REP_SECONDS 0.5
#define BENCH_WARMUP_SECONDS 0.2

/* The backends, in the order of the table's columns. */
enum bench_backend_id {
	BENCH_XDPSEC_OSSL,
#ifdef XDPSEC_HAVE_IPSEC_MB
	BENCH_XDPSEC_IMB,
#endif
	BENCH_OSSL,
#ifdef XDPSEC_HAVE_IPSEC_MB
	BENCH_IMB,
#endif
	BENCH_NBACKENDS
};

static const struct bench_backend *const bench_backends[] = {
	[BENCH_XDPSEC_OSSL] = &bench_esp_backend,
	[BENCH_OSSL] = &bench_evp_backend,
#ifdef XDPSEC_HAVE_IPSEC_MB
	[BENCH_XDPSEC_IMB] = &bench_esp_imb_backend,
	[BENCH_IMB] = &bench_ipsecmb_backend,
#endif
};

/* Each xdpsec backend over the bare library it runs on. */
static const struct bench_ratio {
	enum bench_backend_id num;
	enum bench_backend_id den;
	const char *label;	/* the table's column */
	const char *key;	/* the JSON's field */
} bench_ratios[] = {
	{ BENCH_XDPSEC_OSSL, BENCH_OSSL, "x/ossl", "ratio" },
#ifdef XDPSEC_HAVE_IPSEC_MB
	{ BENCH_XDPSEC_IMB, BENCH_IMB, "x/imb", "ratio_ipsec_mb" },
#endif
};

#define BENCH_NRATIOS (sizeof(bench_ratios) / sizeof(bench_ratios[0]))

static const enum xdpsec_alg bench_algs[] = {
	XDPSEC_ALG_AES_GCM_128,
	XDPSEC_ALG_AES_GCM_256,
	XDPSEC_ALG_CHACHA20_POLY1305,
};

static const uint32_t bench_sizes[] = { 64, 512, 1400 };

#define BENCH_NALGS (sizeof(bench_algs) / sizeof(bench_algs[0]))
#define BENCH_NSIZES (sizeof(bench_sizes) / sizeof(bench_sizes[0]))
#define BENCH_NCELLS (BENCH_NALGS * BENCH_NSIZES)

struct bench_opts {
	unsigned int reps;
	double rep_s;
	const char *json;
};

/* Nanoseconds per packet over the repetitions of one cell. */
struct bench_stat {
	double med;
	double min;
	double max;
};

struct bench_cell {
	enum xdpsec_alg alg;
	uint32_t size;
	bool have[BENCH_NBACKENDS];
	struct bench_stat st[BENCH_NBACKENDS][BENCH_NDIRS];
	struct bench_stat ratio[BENCH_NRATIOS][BENCH_NDIRS];
};

/*
 * Per backend and direction, the ns per packet of each run, and the
 * ratios of xdpsec to the bare libraries in each run.
 */
struct bench_samples {
	double ns[BENCH_NBACKENDS][BENCH_NDIRS][BENCH_REPS_MAX];
	double ratio[BENCH_NRATIOS][BENCH_NDIRS][BENCH_REPS_MAX];
};

/* Whether the cell has both sides of ratio p. */
static bool bench_has_ratio(const struct bench_cell *c, size_t p)
{
	return c->have[bench_ratios[p].num] && c->have[bench_ratios[p].den];
}

/* ---- Shared by the backends ---- */

void bench_nonce(const uint8_t *salt, const uint8_t *iv, uint8_t *nonce)
{
	memcpy(nonce, salt, AEAD_SALT_LEN);
	memcpy(nonce + AEAD_SALT_LEN, iv, BENCH_IV);
}

uint8_t *bench_esp_head(uint8_t *data, uint64_t seq)
{
	uint8_t *esph = data - BENCH_ESP_HDR - BENCH_IV;

	put_be32(esph, BENCH_SPI);
	put_be32(esph + 4, (uint32_t)seq);
	put_be64(esph + BENCH_ESP_HDR, seq);
	return esph;
}

/* ---- Packets ---- */

/*
 * An IPv4 UDP datagram of len bytes between documentation addresses
 * (RFC 5737), with a valid header checksum and a counting payload.
 */
static void bench_plain_fill(uint8_t *d, uint32_t len)
{
	memset(d, 0, BENCH_IPV4_LEN + BENCH_UDP_LEN);
	d[0] = 0x45;
	put_be16(d + 2, (uint16_t)len);
	put_be16(d + 6, 0x4000);	/* DF */
	d[8] = 64;
	d[9] = XDPSEC_IPPROTO_UDP;
	put_be32(d + 12, 0xc0000201);
	put_be32(d + 16, 0xc6336401);
	put_be16(d + 10, ip_csum_fold(ip_csum_add(0, d, BENCH_IPV4_LEN)));

	put_be16(d + 20, 40000);
	put_be16(d + 22, 9);
	put_be16(d + 24, (uint16_t)(len - BENCH_IPV4_LEN));
	for (uint32_t i = BENCH_IPV4_LEN + BENCH_UDP_LEN; i < len; i++)
		d[i] = (uint8_t)i;
}

static int bench_batch_init(struct bench_batch *b, uint32_t size)
{
	uint8_t *plain;

	b->frames = aligned_alloc(BENCH_FRAME, (size_t)BENCH_BATCH *
						       BENCH_FRAME);
	plain = malloc(size);
	if (!b->frames || !plain) {
		free(b->frames);
		free(plain);
		return -ENOMEM;
	}

	bench_plain_fill(plain, size);
	b->plain = plain;
	b->size = size;
	for (uint32_t i = 0; i < BENCH_BATCH; i++)
		memcpy(bench_data(b, i), plain, size);
	return 0;
}

static void bench_batch_fini(struct bench_batch *b)
{
	free(b->frames);
	free((void *)(uintptr_t)b->plain);
}

/*
 * Counts the payloads that differ from the original, and puts the
 * original back so that the next batch starts from clean packets.
 */
static unsigned int bench_batch_check(struct bench_batch *b)
{
	unsigned int bad = 0;

	for (uint32_t i = 0; i < BENCH_BATCH; i++) {
		if (memcmp(bench_data(b, i), b->plain, b->size)) {
			memcpy(bench_data(b, i), b->plain, b->size);
			bad++;
		}
	}
	return bad;
}

/* ---- Measuring ---- */

static uint64_t bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Times one batch through seal and open, adding the ns to sum, then checks
 * the payloads.  Returns the number of failed checks.
 */
static unsigned long bench_batch_time(const struct bench_backend *be,
				      void *st, struct bench_batch *b,
				      uint64_t seq, uint64_t sum[BENCH_NDIRS])
{
	unsigned long fails = 0;
	uint64_t t0, t1, t2;

	t0 = bench_now();
	fails += be->seal(st, b, seq);
	t1 = bench_now();
	fails += be->open(st, b, seq);
	t2 = bench_now();

	sum[BENCH_OUT] += t1 - t0;
	sum[BENCH_IN] += t2 - t1;
	return fails + bench_batch_check(b);
}

/*
 * One run of secs seconds.  The backends take turns batch by batch, so
 * that load elsewhere on the machine falls on all of them alike.  Gives
 * each backend's average ns per packet of seal and of open, and returns
 * the number of failed checks.
 */
static unsigned long bench_rep(const struct bench_cell *c,
			       void *st[BENCH_NBACKENDS],
			       struct bench_batch *b, double secs,
			       uint64_t *seq,
			       double ns[BENCH_NBACKENDS][BENCH_NDIRS])
{
	uint64_t end = bench_now() + (uint64_t)(secs * 1e9), n = 0;
	uint64_t sum[BENCH_NBACKENDS][BENCH_NDIRS] = { { 0 } };
	unsigned long fails = 0;

	do {
		for (size_t k = 0; k < BENCH_NBACKENDS; k++) {
			if (c->have[k])
				fails += bench_batch_time(bench_backends[k],
							  st[k], b, *seq,
							  sum[k]);
		}
		n += BENCH_BATCH;
		*seq += BENCH_BATCH;
	} while (bench_now() < end);

	for (size_t k = 0; k < BENCH_NBACKENDS; k++) {
		for (int d = 0; d < BENCH_NDIRS; d++)
			ns[k][d] = (double)sum[k][d] / (double)n;
	}
	return fails;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct bench_stat bench_stat_of(const double *ns, unsigned int n)
{
	double v[BENCH_REPS_MAX];
	struct bench_stat s;

	memcpy(v, ns, n * sizeof(*v));
	qsort(v, n, sizeof(*v), bench_cmp_double);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

/* A key of the transform's length, salt included; its value is arbitrary. */
static void bench_key(enum xdpsec_alg alg, uint8_t *key)
{
	const struct aead_info *info = aead_info(alg);

	for (size_t i = 0; i < info->key_len + AEAD_SALT_LEN; i++)
		key[i] = (uint8_t)(0x5a ^ (i * 29));
}

static int bench_cell_open(struct bench_cell *c, void *st[BENCH_NBACKENDS])
{
	uint8_t key[AEAD_KEY_MAX + AEAD_SALT_LEN];

	bench_key(c->alg, key);
	for (size_t k = 0; k < BENCH_NBACKENDS; k++) {
		const struct bench_backend *be = bench_backends[k];

		c->have[k] = be->supports(c->alg);
		if (!c->have[k])
			continue;

		st[k] = be->create(c->alg, key);
		if (!st[k]) {
			fprintf(stderr, "bench_crypto: %s cannot set up %s\n",
				be->name, aead_info(c->alg)->name);
			return -EINVAL;
		}
	}
	return 0;
}

static void bench_cell_close(void *st[BENCH_NBACKENDS])
{
	for (size_t k = 0; k < BENCH_NBACKENDS; k++) {
		if (st[k])
			bench_backends[k]->destroy(st[k]);
	}
}

/*
 * All backends must encrypt alike: with the same key and nonce, the bytes
 * that replace the inner packet are the same keystream applied to it,
 * whatever ESP adds after them.  This catches a backend that measures
 * something other than the transform, such as a wrong key or nonce.
 */
static unsigned long bench_cell_cross(const struct bench_cell *c,
				      void *st[BENCH_NBACKENDS],
				      struct bench_batch *b, uint64_t seq)
{
	uint8_t *ref = malloc(b->size);
	unsigned long fails = 0;
	bool have_ref = false;

	if (!ref)
		return BENCH_BATCH;

	for (size_t k = 0; k < BENCH_NBACKENDS; k++) {
		const struct bench_backend *be = bench_backends[k];

		if (!c->have[k])
			continue;

		fails += be->seal(st[k], b, seq);
		if (!have_ref) {
			memcpy(ref, bench_data(b, 0), b->size);
			have_ref = true;
		} else if (memcmp(ref, bench_data(b, 0), b->size)) {
			fprintf(stderr, "bench_crypto: %s and %s disagree\n",
				bench_backends[0]->name, be->name);
			fails++;
		}
		fails += be->open(st[k], b, seq);
		fails += bench_batch_check(b);
	}
	free(ref);
	return fails;
}

/* The cross-check, a warm-up run, then the runs that count. */
static unsigned long bench_cell_measure(const struct bench_opts *o,
					struct bench_cell *c,
					void *st[BENCH_NBACKENDS],
					struct bench_batch *b,
					struct bench_samples *smp)
{
	double ns[BENCH_NBACKENDS][BENCH_NDIRS];
	unsigned long fails = 0;
	uint64_t seq = 1;

	fails += bench_cell_cross(c, st, b, seq);
	seq += BENCH_BATCH;
	fails += bench_rep(c, st, b, BENCH_WARMUP_SECONDS, &seq, ns);

	for (unsigned int r = 0; r < o->reps; r++) {
		fails += bench_rep(c, st, b, o->rep_s, &seq, ns);
		for (size_t k = 0; k < BENCH_NBACKENDS; k++) {
			for (int d = 0; d < BENCH_NDIRS; d++)
				smp->ns[k][d][r] = ns[k][d];
		}
		for (size_t p = 0; p < BENCH_NRATIOS; p++) {
			const struct bench_ratio *q = &bench_ratios[p];

			for (int d = 0; d < BENCH_NDIRS; d++)
				smp->ratio[p][d][r] = ns[q->num][d] /
						      ns[q->den][d];
		}
	}
	return fails;
}

static int bench_cell_run(const struct bench_opts *o, struct bench_cell *c,
			  unsigned long *fails)
{
	void *st[BENCH_NBACKENDS] = { NULL };
	struct bench_samples smp;
	struct bench_batch b;
	int ret;

	ret = bench_batch_init(&b, c->size);
	if (ret)
		return ret;

	ret = bench_cell_open(c, st);
	if (ret)
		goto out;

	*fails += bench_cell_measure(o, c, st, &b, &smp);
	for (int d = 0; d < BENCH_NDIRS; d++) {
		for (size_t k = 0; k < BENCH_NBACKENDS; k++) {
			if (c->have[k])
				c->st[k][d] = bench_stat_of(smp.ns[k][d],
							    o->reps);
		}
		for (size_t p = 0; p < BENCH_NRATIOS; p++) {
			if (bench_has_ratio(c, p))
				c->ratio[p][d] = bench_stat_of(smp.ratio[p][d],
							       o->reps);
		}
	}

out:
	bench_cell_close(st);
	bench_batch_fini(&b);
	return ret;
}

/* ---- Output ---- */

static void bench_table_head(const struct bench_opts *o)
{
	printf("ns per packet: median [min-max] of %u runs of %.2f s\n",
	       o->reps, o->rep_s);
	printf("one thread; the backends take turns by batches of %d\n",
	       BENCH_BATCH);
	printf("Mpps: million packets per second on one core, from the median\n");
	for (size_t p = 0; p < BENCH_NRATIOS; p++)
		printf("%s: %s / %s, the median of the runs' ratios\n",
		       bench_ratios[p].label,
		       bench_backends[bench_ratios[p].num]->name,
		       bench_backends[bench_ratios[p].den]->name);
	printf("\n");

	printf("%-17s %5s %-3s", "transform", "bytes", "dir");
	for (size_t k = 0; k < BENCH_NBACKENDS; k++)
		printf("  %-17s %5s", bench_backends[k]->name, "Mpps");
	for (size_t p = 0; p < BENCH_NRATIOS; p++)
		printf("  %6s", bench_ratios[p].label);
	printf("\n");
}

static void bench_table_row(const struct bench_cell *c, int d)
{
	printf("%-17s %5u %-3s", aead_info(c->alg)->name, c->size,
	       bench_dir_names[d]);

	for (size_t k = 0; k < BENCH_NBACKENDS; k++) {
		const struct bench_stat *s = &c->st[k][d];
		char cell[32];

		if (!c->have[k]) {
			printf("  %-17s %5s", "-", "-");
			continue;
		}
		snprintf(cell, sizeof(cell), "%5.0f [%.0f-%.0f]", s->med,
			 s->min, s->max);
		printf("  %-17s %5.2f", cell, 1e3 / s->med);
	}
	for (size_t p = 0; p < BENCH_NRATIOS; p++) {
		if (bench_has_ratio(c, p))
			printf("  %6.2f", c->ratio[p][d].med);
		else
			printf("  %6s", "-");
	}
	printf("\n");
}

static struct json_object *bench_json_num(double v, const char *fmt)
{
	char buf[32];

	snprintf(buf, sizeof(buf), fmt, v);
	return json_object_new_double_s(v, buf);
}

static struct json_object *bench_json_stat(const struct bench_stat *s)
{
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "median_ns", bench_json_num(s->med, "%.1f"));
	json_object_object_add(j, "min_ns", bench_json_num(s->min, "%.1f"));
	json_object_object_add(j, "max_ns", bench_json_num(s->max, "%.1f"));
	json_object_object_add(j, "pps",
			       json_object_new_int64((int64_t)(1e9 / s->med)));
	return j;
}

static struct json_object *bench_json_ratio(const struct bench_stat *s)
{
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "median", bench_json_num(s->med, "%.3f"));
	json_object_object_add(j, "min", bench_json_num(s->min, "%.3f"));
	json_object_object_add(j, "max", bench_json_num(s->max, "%.3f"));
	return j;
}

static struct json_object *bench_json_row(const struct bench_cell *c, int d)
{
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "transform",
			       json_object_new_string(aead_info(c->alg)->name));
	json_object_object_add(j, "size", json_object_new_int((int)c->size));
	json_object_object_add(j, "dir",
			       json_object_new_string(bench_dir_names[d]));
	for (size_t k = 0; k < BENCH_NBACKENDS; k++) {
		if (c->have[k])
			json_object_object_add(j, bench_backends[k]->name,
					       bench_json_stat(&c->st[k][d]));
	}
	for (size_t p = 0; p < BENCH_NRATIOS; p++) {
		if (!bench_has_ratio(c, p))
			continue;
		json_object_object_add(j, bench_ratios[p].key,
				       bench_json_ratio(&c->ratio[p][d]));
	}
	return j;
}

/* When and where the figures were taken, and with which libraries. */
static struct json_object *bench_json_env(const struct bench_opts *o)
{
	struct json_object *j = json_object_new_object();
	struct json_object *libs = json_object_new_object();
	char date[32], about[BENCH_ABOUT_LEN];
	time_t now = time(NULL);

	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json_object_object_add(j, "date", json_object_new_string(date));
	json_object_object_add(j, "cpus",
			       json_object_new_int((int)sysconf(
				       _SC_NPROCESSORS_ONLN)));
	json_object_object_add(j, "reps", json_object_new_int((int)o->reps));
	json_object_object_add(j, "rep_seconds",
			       bench_json_num(o->rep_s, "%.3f"));
	json_object_object_add(j, "batch", json_object_new_int(BENCH_BATCH));

	for (size_t k = 0; k < BENCH_NBACKENDS; k++) {
		bench_backends[k]->about(about, sizeof(about));
		json_object_object_add(libs, bench_backends[k]->name,
				       json_object_new_string(about));
	}
	json_object_object_add(j, "backends", libs);
	return j;
}

static int bench_json_write(const struct bench_opts *o,
			    const struct bench_cell *cells, unsigned long fails)
{
	struct json_object *root = bench_json_env(o);
	struct json_object *rows = json_object_new_array();
	int ret = 0;

	for (size_t i = 0; i < BENCH_NCELLS; i++) {
		for (int d = 0; d < BENCH_NDIRS; d++)
			json_object_array_add(rows,
					      bench_json_row(&cells[i], d));
	}
	json_object_object_add(root, "results", rows);
	json_object_object_add(root, "failures",
			       json_object_new_int64((int64_t)fails));

	if (json_object_to_file_ext(o->json, root, JSON_C_TO_STRING_PRETTY)) {
		fprintf(stderr, "bench_crypto: cannot write %s: %s\n", o->json,
			json_util_get_last_err());
		ret = -EIO;
	}
	json_object_put(root);
	return ret;
}

/* ---- Main ---- */

static int bench_parse(int argc, char **argv, struct bench_opts *o)
{
	int c;

	*o = (struct bench_opts){ BENCH_REPS_DEFAULT, BENCH_REP_SECONDS, NULL };
	while ((c = getopt(argc, argv, "r:t:o:")) != -1) {
		switch (c) {
		case 'r':
			o->reps = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 't':
			o->rep_s = strtod(optarg, NULL);
			break;
		case 'o':
			o->json = optarg;
			break;
		default:
			return -EINVAL;
		}
	}

	if (optind != argc || o->reps < BENCH_REPS_MIN ||
	    o->reps > BENCH_REPS_MAX || !(o->rep_s > 0 && o->rep_s <= 10))
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_cell cells[BENCH_NCELLS] = { 0 };
	unsigned long fails = 0;
	struct bench_opts o;

	if (bench_parse(argc, argv, &o)) {
		fprintf(stderr, "usage: bench_crypto [-r REPS] [-t SECONDS] [-o JSON]\n");
		fprintf(stderr, "REPS from %d to %d, SECONDS over 0 and up to 10\n",
			BENCH_REPS_MIN, BENCH_REPS_MAX);
		return 2;
	}

	bench_table_head(&o);
	for (size_t i = 0; i < BENCH_NCELLS; i++) {
		struct bench_cell *c = &cells[i];

		c->alg = bench_algs[i / BENCH_NSIZES];
		c->size = bench_sizes[i % BENCH_NSIZES];
		if (bench_cell_run(&o, c, &fails))
			return 1;
		for (int d = 0; d < BENCH_NDIRS; d++)
			bench_table_row(c, d);
		fflush(stdout);
	}

	if (o.json && bench_json_write(&o, cells, fails))
		return 1;

	if (fails) {
		fprintf(stderr, "bench_crypto: %lu failed checks\n", fails);
		return 1;
	}
	return 0;
}
