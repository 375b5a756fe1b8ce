// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nametab.h"

enum {
	NAMETAB_MIN_BUCKETS = 64,
	NAMETAB_LOAD = 2,		/* names per bucket before it grows */
};

struct nametab_node {
	struct nametab_node *next;
	uint32_t val;
	char name[];
};

/* FNV-1a: short names, no adversary that could pick colliding ones. */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

void nametab_init(struct nametab *t)
{
	memset(t, 0, sizeof(*t));
}

void nametab_fini(struct nametab *t)
{
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct nametab_node *n = t->buckets[i], *next;

		for (; n; n = next) {
			next = n->next;
			free(n);
		}
	}
	free(t->buckets);
	nametab_init(t);
}

static struct nametab_node **slot_of(const struct nametab *t,
				     const char *name)
{
	struct nametab_node **p;

	if (!t->n_buckets)
		return NULL;
	p = &t->buckets[name_hash(name) & (t->n_buckets - 1)];
	while (*p && strcmp((*p)->name, name))
		p = &(*p)->next;
	return p;
}

static int nametab_grow(struct nametab *t)
{
	size_t n = t->n_buckets ? t->n_buckets * 2 : NAMETAB_MIN_BUCKETS;
	struct nametab_node **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct nametab_node *node = t->buckets[i], *next;

		for (; node; node = next) {
			size_t h = name_hash(node->name) & (n - 1);

			next = node->next;
			node->next = b[h];
			b[h] = node;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = n;
	return 0;
}

int nametab_add(struct nametab *t, const char *name, uint32_t val)
{
	size_t len = strlen(name) + 1;
	struct nametab_node **p, *node;

	p = slot_of(t, name);
	if (p && *p)
		return -EEXIST;
	if (t->count >= t->n_buckets * NAMETAB_LOAD) {
		if (nametab_grow(t))
			return -ENOMEM;
		p = slot_of(t, name);
	}
	node = malloc(sizeof(*node) + len);
	if (!node)
		return -ENOMEM;
	node->next = NULL;
	node->val = val;
	memcpy(node->name, name, len);
	*p = node;
	t->count++;
	return 0;
}

int nametab_set(struct nametab *t, const char *name, uint32_t val)
{
	struct nametab_node **p = slot_of(t, name);

	if (!p || !*p)
		return -ENOENT;
	(*p)->val = val;
	return 0;
}

int nametab_get(const struct nametab *t, const char *name, uint32_t *val)
{
	struct nametab_node **p = slot_of(t, name);

	if (!p || !*p)
		return -ENOENT;
	*val = (*p)->val;
	return 0;
}

int nametab_del(struct nametab *t, const char *name)
{
	struct nametab_node **p = slot_of(t, name), *node;

	if (!p || !*p)
		return -ENOENT;
	node = *p;
	*p = node->next;
	free(node);
	t->count--;
	return 0;
}
