// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target of the IKEv2 message codec.  Each input is parsed as a
 * message; every payload that parses is decoded, the content of an SK
 * payload is parsed as if it had been decrypted, and the payloads whose
 * decoded form the builder can write back are rebuilt and decoded again.
 * A rebuilt payload that does not decode to the same thing aborts, so
 * that the fuzzer reports it as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ike_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Large enough for any payload of a 64 KiB message, rebuilt. */
static uint8_t out[2 * IKE_PAYLOAD_MAX];

static struct ike_sa_payload sa, sa2;
static struct ike_ts_list ts, ts2;
static struct ike_cp cp, cp2;
static struct ike_msg msg, inner, again;

static void must(int cond)
{
	if (!cond)
		abort();
}

/* Parses back the one payload built in b. */
static const struct ike_payload *reparse(struct ike_buf *b)
{
	struct ike_err err;

	must(ike_buf_finish(b) == 0);
	must(ike_msg_parse_inner(&again, b->first, b->data, b->len, &err) ==
	     0);
	must(again.npayloads == 1);
	return &again.payloads[0];
}

static void sa_round_trip(const struct ike_payload *p)
{
	struct ike_err err;
	struct ike_buf b;

	if (ike_decode_sa(p, &sa, &err))
		return;

	ike_buf_init(&b, out, sizeof(out));
	ike_put_sa(&b, sa.proposals, sa.nproposals);
	must(ike_decode_sa(reparse(&b), &sa2, &err) == 0);

	must(sa2.nproposals == sa.nproposals);
	for (size_t i = 0; i < sa.nproposals; i++) {
		must(sa2.proposals[i].num == sa.proposals[i].num);
		must(ike_proposal_equal(&sa2.proposals[i], &sa.proposals[i]));
	}
}

static void ts_round_trip(const struct ike_payload *p)
{
	struct ike_err err;
	struct ike_buf b;

	if (ike_decode_ts(p, &ts, &err))
		return;

	ike_buf_init(&b, out, sizeof(out));
	ike_put_ts(&b, p->type, &ts);
	must(ike_decode_ts(reparse(&b), &ts2, &err) == 0);
	must(ts2.n == ts.n && !memcmp(ts2.ts, ts.ts, ts.n * sizeof(ts.ts[0])));
}

static void cp_round_trip(const struct ike_payload *p)
{
	struct ike_err err;
	struct ike_buf b;

	if (ike_decode_cp(p, &cp, &err))
		return;

	ike_buf_init(&b, out, sizeof(out));
	ike_put_cp(&b, &cp);
	must(ike_decode_cp(reparse(&b), &cp2, &err) == 0);
	must(cp2.type == cp.type && cp2.nattrs == cp.nattrs);
	for (size_t i = 0; i < cp.nattrs; i++) {
		must(cp2.attrs[i].type == cp.attrs[i].type);
		must(cp2.attrs[i].len == cp.attrs[i].len);
		must(!memcmp(cp2.attrs[i].value, cp.attrs[i].value,
			     cp.attrs[i].len));
	}
}

static void notify_round_trip(const struct ike_payload *p)
{
	struct ike_notify n, n2;
	struct ike_err err;
	struct ike_buf b;

	if (ike_decode_notify(p, &n, &err))
		return;

	ike_buf_init(&b, out, sizeof(out));
	ike_put_notify(&b, &n);
	must(ike_decode_notify(reparse(&b), &n2, &err) == 0);
	must(n2.protocol == n.protocol && n2.spi_size == n.spi_size &&
	     n2.type == n.type && n2.len == n.len);
	must(!n.spi_size || !memcmp(n2.spi, n.spi, n.spi_size));
	must(!memcmp(n2.data, n.data, n.len));
}

static void delete_round_trip(const struct ike_payload *p)
{
	struct ike_delete d, d2;
	struct ike_err err;
	struct ike_buf b;

	if (ike_decode_delete(p, &d, &err))
		return;

	ike_buf_init(&b, out, sizeof(out));
	ike_put_delete(&b, &d);
	must(ike_decode_delete(reparse(&b), &d2, &err) == 0);
	must(d2.protocol == d.protocol && d2.spi_size == d.spi_size &&
	     d2.nspis == d.nspis);
	must(!memcmp(d2.spis, d.spis, (size_t)d.spi_size * d.nspis));
}

/* Decoders whose result is only read, to let the sanitizers look. */
static void decode_plain(const struct ike_payload *p)
{
	struct ike_bytes bytes;
	struct ike_cert cert;
	struct ike_auth auth;
	struct ike_err err;
	struct ike_skf skf;
	struct ike_ke_payload ke;
	struct ike_id id;

	switch (p->type) {
	case IKE_PL_KE:
		if (!ike_decode_ke(p, &ke, &err))
			must(ke.data + ke.len == p->body + p->len);
		break;
	case IKE_PL_IDI:
	case IKE_PL_IDR:
		ike_decode_id(p, &id, &err);
		break;
	case IKE_PL_CERT:
	case IKE_PL_CERTREQ:
		ike_decode_cert(p, &cert, &err);
		break;
	case IKE_PL_AUTH:
		ike_decode_auth(p, &auth, &err);
		break;
	case IKE_PL_NONCE:
		ike_decode_nonce(p, &bytes, &err);
		break;
	case IKE_PL_V:
		ike_decode_vendor(p, &bytes, &err);
		break;
	case IKE_PL_SKF:
		if (!ike_decode_skf(p, &skf, &err))
			must(skf.number >= 1 && skf.number <= skf.total);
		break;
	default:
		break;
	}
}

static void decode(const struct ike_payload *p)
{
	switch (p->type) {
	case IKE_PL_SA:
		sa_round_trip(p);
		break;
	case IKE_PL_TSI:
	case IKE_PL_TSR:
		ts_round_trip(p);
		break;
	case IKE_PL_CP:
		cp_round_trip(p);
		break;
	case IKE_PL_N:
		notify_round_trip(p);
		break;
	case IKE_PL_D:
		delete_round_trip(p);
		break;
	default:
		decode_plain(p);
		break;
	}
}

static void decode_all(const struct ike_msg *m)
{
	for (size_t i = 0; i < m->npayloads; i++)
		decode(&m->payloads[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ike_payload *sk;
	struct ike_err err;

	if (ike_msg_parse(&msg, data, size, &err))
		return 0;
	decode_all(&msg);

	/* Take the SK body as the plaintext it would decrypt to. */
	sk = ike_msg_find(&msg, IKE_PL_SK, NULL);
	if (sk && !ike_msg_parse_inner(&inner, sk->next, sk->body, sk->len,
				       &err))
		decode_all(&inner);
	return 0;
}
