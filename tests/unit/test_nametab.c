// SPDX-License-Identifier: GPL-2.0-only
/* The name index of the SAD and SPD: adds, lookups, removals, growth. */
#include <errno.h>
#include <stdio.h>

#include "check.h"
#include "nametab.h"

enum { MANY = 100000 };

static void test_basic(void)
{
	struct nametab t;
	uint32_t v = 0;

	nametab_init(&t);
	CHECK(nametab_get(&t, "a", &v) == -ENOENT, "empty table finds nothing");
	CHECK(nametab_del(&t, "a") == -ENOENT, "empty table deletes nothing");
	CHECK(nametab_set(&t, "a", 1) == -ENOENT, "set needs the name");
	CHECK(!nametab_add(&t, "a", 7), "add a");
	CHECK(nametab_add(&t, "a", 8) == -EEXIST, "a twice");
	CHECK(!nametab_get(&t, "a", &v) && v == 7, "a is 7: %u", v);
	CHECK(!nametab_set(&t, "a", 9) && !nametab_get(&t, "a", &v) && v == 9,
	      "a set to 9: %u", v);
	CHECK(nametab_get(&t, "A", &v) == -ENOENT, "names are case-sensitive");
	CHECK(!nametab_del(&t, "a") && nametab_get(&t, "a", &v) == -ENOENT &&
		      t.count == 0,
	      "a deleted");
	CHECK(!nametab_add(&t, "a", 3), "a again after delete");
	nametab_fini(&t);
	CHECK(t.count == 0 && !t.buckets, "fini empties");
}

/* Many names: the table grows, and every name keeps its value. */
static void test_many(void)
{
	unsigned int wrong = 0, found = 0;
	struct nametab t;
	char name[32];
	uint32_t v;

	nametab_init(&t);
	for (uint32_t i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "sa-%u", i);
		wrong += nametab_add(&t, name, i) != 0;
	}
	CHECK(!wrong && t.count == MANY, "%u adds failed", wrong);
	CHECK(t.n_buckets * 2 >= MANY, "grown to %zu buckets", t.n_buckets);
	for (uint32_t i = 0; i < MANY; i += 2) {
		snprintf(name, sizeof(name), "sa-%u", i);
		wrong += nametab_del(&t, name) != 0;
	}
	for (uint32_t i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "sa-%u", i);
		if (!nametab_get(&t, name, &v)) {
			found++;
			wrong += v != i || i % 2 == 0;
		}
	}
	CHECK(!wrong && found == MANY / 2 && t.count == MANY / 2,
	      "after deleting the even ones: %u found, %u wrong", found,
	      wrong);
	nametab_fini(&t);
}

int main(void)
{
	test_basic();
	test_many();
	return check_summary();
}
