// SPDX-License-Identifier: GPL-2.0-only
/*
 * xdpsec: the command line client of xdpsecd.  Every command is one JSON
 * request on the daemon's Unix control socket:
 *
 *   {"cmd": "sa.del", "args": {"name": "gw-out"}}
 *
 * and one reply, read until the daemon closes the connection:
 *
 *   {"ok": true, "data": ...}  or  {"ok": false, "error": "message"}
 *
 * The client does not check the keys and values of "sa add" and "policy
 * add": the daemon runs them through the setters that read the
 * configuration file, so that there is one set of rules, in one place.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#define RUN_DIR "/run/xdpsec"
#define REPLY_TIMEOUT_S 30

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
};

/* What "xdpsec -h" prints; the README documents the same text. */
static const char usage_text[] =
	"Usage: xdpsec [-n INSTANCE] [-s SOCKET] [-j|--json] COMMAND\n"
	"\n"
	"Options:\n"
	"  -n, --instance NAME  talk to instance NAME (default: default)\n"
	"  -s, --socket PATH    control socket (default: /run/xdpsec/INSTANCE.sock)\n"
	"  -j, --json           print the reply's data as JSON\n"
	"  -h, --help           print this text\n"
	"\n"
	"Commands:\n"
	"  status                        daemon, interfaces and maps\n"
	"  stats [-a]                    counters that are not zero (-a: all)\n"
	"  sa list [NAME]                security associations and counters\n"
	"  sa add NAME KEY VALUE...      add an SA; KEYs as in an [sa] section\n"
	"  sa del NAME|ID                remove an SA\n"
	"  policy list                   security policies\n"
	"  policy add NAME KEY VALUE...  add a policy; KEYs as in a [policy] section\n"
	"  policy del NAME|ID            remove a policy\n"
	"  reload                        read the configuration file again\n"
	"  ike list                      IKE SAs and their CHILD_SAs\n"
	"  tunnel list                   the same\n"
	"  tunnel up NAME                start connection NAME (IKE)\n"
	"  tunnel down NAME              delete connection NAME's IKE SAs\n"
	"  tunnel rekey NAME             rekey connection NAME's CHILD_SAs now\n"
	"  batch FILE|-                  run the commands of FILE (- for stdin), one\n"
	"                                a line, over one connection\n";

struct cli {
	const char *instance;
	const char *sock;
	char sock_buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool json;
	bool all;			/* stats -a */
	char err[512];			/* the one message main() prints */
};

struct command {
	const char *words[2];		/* words[1] NULL: a one-word command */
	const char *cmd;		/* "cmd" of the request */
	/* Fills the request's "args"; -EINVAL means a usage error. */
	int (*args)(struct cli *cli, int argc, char **argv,
		    struct json_object *args);
	/* Human output of a successful reply. */
	int (*print)(struct cli *cli, struct json_object *args,
		     struct json_object *data);
	const char *usage;
	/* Set for a command that is not one request: it runs on its own. */
	int (*run)(struct cli *cli, int argc, char **argv);
};

static int cli_fail(struct cli *cli, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records the first message; returns rc so callers can write one line. */
static int cli_fail(struct cli *cli, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!cli->err[0]) {
		va_start(ap, fmt);
		vsnprintf(cli->err, sizeof(cli->err), fmt, ap);
		va_end(ap);
	}
	return rc;
}

static struct json_object *jget(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/*
 * Any JSON value as table text: strings as they are, integers in full
 * (counters may pass INT64_MAX), booleans as yes/no, absence and empty
 * strings as "-" so that no cell is blank.
 */
static const char *jtext(struct json_object *v, char *buf, size_t len)
{
	int64_t i;

	switch (json_object_get_type(v)) {
	case json_type_null:
		return "-";
	case json_type_string:
		return json_object_get_string_len(v) ?
			       json_object_get_string(v) : "-";
	case json_type_boolean:
		return json_object_get_boolean(v) ? "yes" : "no";
	case json_type_int:
		i = json_object_get_int64(v);
		if (i < 0)
			snprintf(buf, len, "%" PRId64, i);
		else
			snprintf(buf, len, "%" PRIu64,
				 json_object_get_uint64(v));
		return buf;
	case json_type_double:
		snprintf(buf, len, "%g", json_object_get_double(v));
		return buf;
	default:
		return json_object_to_json_string_ext(v,
						      JSON_C_TO_STRING_PLAIN);
	}
}

/* ---- Tables ----------------------------------------------------------- */

struct column {
	const char *head;
	const char *key;
	const char *key2;	/* when set, the cell is "key -> key2" */
	bool right;		/* numbers are right-aligned */
	bool optional;		/* shown only if some row has the key */
};

static char *cell_text(struct json_object *row, const struct column *col)
{
	struct json_object *a = jget(row, col->key);
	struct json_object *b = col->key2 ? jget(row, col->key2) : NULL;
	char b1[32], b2[32];
	char *s;

	if (!b)
		return strdup(jtext(a, b1, sizeof(b1)));
	if (asprintf(&s, "%s -> %s", jtext(a, b1, sizeof(b1)),
		     jtext(b, b2, sizeof(b2))) < 0)
		return NULL;
	return s;
}

static bool column_shown(struct json_object *rows, const struct column *col)
{
	size_t n = json_object_array_length(rows);

	if (!col->optional)
		return true;
	for (size_t r = 0; r < n; r++)
		if (jget(json_object_array_get_idx(rows, r), col->key))
			return true;
	return false;
}

/* One line of a table; cells NULL prints the headings. */
static void table_row(char **cells, const struct column *cols,
		      const bool *shown, const int *width, size_t ncols)
{
	const char *sep = "", *text;
	size_t last = 0;

	for (size_t c = 0; c < ncols; c++)
		if (shown[c])
			last = c;
	for (size_t c = 0; c < ncols; c++) {
		if (!shown[c])
			continue;
		text = cells ? cells[c] : cols[c].head;
		if (cols[c].right)
			printf("%s%*s", sep, width[c], text);
		else if (c == last)
			printf("%s%s", sep, text);
		else
			printf("%s%-*s", sep, width[c], text);
		sep = "  ";
	}
	putchar('\n');
}

/* Fills cells[r * ncols + c] and the widths of the columns. */
static int table_cells(struct json_object *rows, const struct column *cols,
		       size_t ncols, char **cells, int *width)
{
	size_t n = json_object_array_length(rows);
	struct json_object *row;
	char **cell;

	for (size_t c = 0; c < ncols; c++)
		width[c] = strlen(cols[c].head);
	for (size_t r = 0; r < n; r++) {
		row = json_object_array_get_idx(rows, r);
		for (size_t c = 0; c < ncols; c++) {
			cell = &cells[r * ncols + c];
			*cell = cell_text(row, &cols[c]);
			if (!*cell)
				return -ENOMEM;
			if ((int)strlen(*cell) > width[c])
				width[c] = strlen(*cell);
		}
	}
	return 0;
}

/* Prints an array of objects with column widths taken from the data. */
static int table_print(struct cli *cli, struct json_object *rows,
		       const struct column *cols, size_t ncols)
{
	size_t n = json_object_array_length(rows);
	bool shown[ncols];
	char **cells;
	int width[ncols];
	int rc;

	cells = calloc(n * ncols + 1, sizeof(*cells));
	if (!cells)
		return cli_fail(cli, -ENOMEM, "out of memory");
	rc = table_cells(rows, cols, ncols, cells, width);
	if (rc) {
		cli_fail(cli, rc, "out of memory");
		goto out;
	}
	for (size_t c = 0; c < ncols; c++)
		shown[c] = column_shown(rows, &cols[c]);
	table_row(NULL, cols, shown, width, ncols);
	for (size_t r = 0; r < n; r++)
		table_row(&cells[r * ncols], cols, shown, width, ncols);
out:
	for (size_t i = 0; i < n * ncols; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

static int expect_array(struct cli *cli, struct json_object *data)
{
	if (!json_object_is_type(data, json_type_array))
		return cli_fail(cli, -EPROTO,
				"unexpected reply from xdpsecd: no list");
	return 0;
}

/* ---- Printers --------------------------------------------------------- */

static void print_uptime(struct json_object *v)
{
	uint64_t s = json_object_get_uint64(v);

	if (s >= 86400)
		printf("%" PRIu64 "d ", s / 86400);
	printf("%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 "\n", s / 3600 % 24,
	       s / 60 % 60, s % 60);
}

static int print_status(struct cli *cli, struct json_object *args,
			struct json_object *data)
{
	static const char *const fields[][2] = {
		{ "instance", "instance" },
		{ "pid", "pid" },
		{ "uptime_s", "uptime" },
		{ "config", "config" },
		{ "pin_path", "pin path" },
		{ "default_action", "default action" },
		{ "workers", "workers" },
	};
	static const struct column ifaces[] = {
		{ "INTERFACE", "name" },
		{ "IFINDEX", "ifindex", .right = 1 },
		{ "XDP", "xdp_mode" },
		{ "QUEUES", "queues", .right = 1 },
	};
	static const struct column maps[] = {
		{ "MAP", "name" },
		{ "ID", "id", .right = 1 },
	};
	struct json_object *v;
	char buf[32];
	int rc = 0;

	(void)args;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		v = jget(data, fields[i][0]);
		printf("%-16s", fields[i][1]);
		if (v && !strcmp(fields[i][0], "uptime_s"))
			print_uptime(v);
		else
			printf("%s\n", jtext(v, buf, sizeof(buf)));
	}
	v = jget(data, "interfaces");
	if (json_object_is_type(v, json_type_array)) {
		putchar('\n');
		rc = table_print(cli, v, ifaces, 4);
	}
	v = jget(data, "maps");
	if (!rc && json_object_is_type(v, json_type_array)) {
		putchar('\n');
		rc = table_print(cli, v, maps, 2);
	}
	return rc;
}

static bool counter_shown(const struct cli *cli, struct json_object *v)
{
	return cli->all || json_object_get_uint64(v) != 0;
}

/* One "name value" line per counter, in the daemon's order. */
static int print_stats(struct cli *cli, struct json_object *args,
		       struct json_object *data)
{
	struct json_object *counters = jget(data, "counters");
	struct json_object_iterator it, end;
	struct json_object *v;
	int name_w = 0, val_w = 0, shown = 0, w;
	char buf[32];

	(void)args;
	if (!json_object_is_type(counters, json_type_object))
		return cli_fail(cli, -EPROTO,
				"unexpected reply from xdpsecd: no counters");
	end = json_object_iter_end(counters);
	for (it = json_object_iter_begin(counters);
	     !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		v = json_object_iter_peek_value(&it);
		if (!counter_shown(cli, v))
			continue;
		w = strlen(json_object_iter_peek_name(&it));
		name_w = w > name_w ? w : name_w;
		w = strlen(jtext(v, buf, sizeof(buf)));
		val_w = w > val_w ? w : val_w;
		shown++;
	}
	if (!shown) {
		printf("all counters are zero (-a shows them)\n");
		return 0;
	}
	for (it = json_object_iter_begin(counters);
	     !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		v = json_object_iter_peek_value(&it);
		if (counter_shown(cli, v))
			printf("%-*s  %*s\n", name_w,
			       json_object_iter_peek_name(&it), val_w,
			       jtext(v, buf, sizeof(buf)));
	}
	return 0;
}

/*
 * What an SA is and whether it works, one line each.  Selectors, ESN, the
 * replay window, sequence numbers, lifetimes and the other drop counters
 * would make the line too wide to read: --json has them.  Columns a daemon
 * does not send are left out.
 */
static int print_sa_list(struct cli *cli, struct json_object *args,
			 struct json_object *data)
{
	static const struct column cols[] = {
		{ "ID", "id", .right = 1 },
		{ "NAME", "name" },
		{ "DIR", "dir" },
		{ "SPI", "spi" },
		{ "PROTO", "proto", .optional = 1 },
		{ "MODE", "mode" },
		{ "ALG", "alg" },
		{ "INTEG", "integ", .optional = 1 },
		{ "ENCAP", "encap", .optional = 1 },
		{ "ENDPOINTS", "src", "dst" },
		{ "STATE", "state" },
		{ "EXPIRED", "expired", .optional = 1 },
		{ "PACKETS", "packets", .right = 1 },
		{ "BYTES", "bytes", .right = 1 },
		{ "AUTH_FAIL", "auth_fails", .right = 1 },
	};

	(void)args;
	if (expect_array(cli, data))
		return -EPROTO;
	if (!json_object_array_length(data)) {
		printf("no SAs\n");
		return 0;
	}
	return table_print(cli, data, cols, sizeof(cols) / sizeof(cols[0]));
}

static int print_policy_list(struct cli *cli, struct json_object *args,
			     struct json_object *data)
{
	static const struct column cols[] = {
		{ "ID", "id", .right = 1 },
		{ "NAME", "name" },
		{ "DIR", "dir" },
		{ "SRC", "src" },
		{ "DST", "dst" },
		{ "PROTO", "proto" },
		{ "SPORT", "sport" },
		{ "DPORT", "dport" },
		{ "ACTION", "action" },
		{ "SA", "sa" },
		{ "PRIORITY", "priority", .right = 1 },
		{ "PACKETS", "packets", .right = 1, .optional = 1 },
	};

	(void)args;
	if (expect_array(cli, data))
		return -EPROTO;
	if (!json_object_array_length(data)) {
		printf("no policies\n");
		return 0;
	}
	return table_print(cli, data, cols, sizeof(cols) / sizeof(cols[0]));
}

/* IKE SAs, each followed by its CHILD_SAs. */
static int print_ike_list(struct cli *cli, struct json_object *args,
			  struct json_object *data)
{
	static const struct column cols[] = {
		{ "CONN", "conn" },
		{ "STATE", "state" },
		{ "SPIS", "spi_i", "spi_r" },
		{ "ENDPOINTS", "local", "remote" },
		{ "PEER", "peer_id" },
		{ "TRANSFORM", "transform" },
		{ "AGE_S", "age_s", .right = 1 },
		{ "REKEY_S", "rekey_in_s", .right = 1 },
		{ "CHILD_REKEYS", "child_rekeys", .right = 1 },
		{ "MSGS", "msgs_in", "msgs_out", .right = 1 },
		{ "RETX", "retransmits", .right = 1 },
	};
	static const struct column child_cols[] = {
		{ "  CHILD_SA", "spi_in", "spi_out" },
		{ "MODE", "mode" },
		{ "TRANSFORM", "transform" },
		{ "AGE_S", "age_s", .right = 1 },
		{ "REKEY_S", "rekey_in_s", .right = 1 },
	};
	int ret;

	(void)args;
	if (expect_array(cli, data))
		return -EPROTO;
	if (!json_object_array_length(data)) {
		printf("no IKE SAs\n");
		return 0;
	}
	ret = table_print(cli, data, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; !ret && i < json_object_array_length(data); i++) {
		struct json_object *kids =
			jget(json_object_array_get_idx(data, i), "children");

		if (!kids || !json_object_array_length(kids))
			continue;
		printf("\n%s:\n", json_object_get_string(jget(
			json_object_array_get_idx(data, i), "conn")));
		ret = table_print(cli, kids, child_cols,
				  sizeof(child_cols) / sizeof(child_cols[0]));
	}
	return ret;
}

static int print_tunnel(struct cli *cli, struct json_object *args,
			struct json_object *data)
{
	(void)cli;
	(void)data;
	printf("%s: requested\n", json_object_get_string(jget(args, "name")));
	return 0;
}

static int print_added(const char *what, struct json_object *args,
		       struct json_object *data)
{
	char buf[32];

	printf("%s %s added (id %s)\n", what,
	       json_object_get_string(jget(args, "name")),
	       jtext(jget(data, "id"), buf, sizeof(buf)));
	return 0;
}

static void print_deleted(const char *what, struct json_object *args)
{
	struct json_object *name = jget(args, "name");

	if (name)
		printf("%s %s deleted\n", what, json_object_get_string(name));
	else
		printf("%s id %s deleted\n", what,
		       json_object_get_string(jget(args, "id")));
}

static int print_sa_add(struct cli *cli, struct json_object *args,
			struct json_object *data)
{
	(void)cli;
	return print_added("SA", args, data);
}

static int print_sa_del(struct cli *cli, struct json_object *args,
			struct json_object *data)
{
	(void)cli;
	(void)data;
	print_deleted("SA", args);
	return 0;
}

static int print_policy_add(struct cli *cli, struct json_object *args,
			    struct json_object *data)
{
	(void)cli;
	return print_added("policy", args, data);
}

static int print_policy_del(struct cli *cli, struct json_object *args,
			    struct json_object *data)
{
	(void)cli;
	(void)data;
	print_deleted("policy", args);
	return 0;
}

static int print_reload(struct cli *cli, struct json_object *args,
			struct json_object *data)
{
	char b1[32], b2[32];

	(void)cli;
	(void)args;
	printf("reloaded: %s SAs, %s policies\n",
	       jtext(jget(data, "sas"), b1, sizeof(b1)),
	       jtext(jget(data, "policies"), b2, sizeof(b2)));
	return 0;
}

/* ---- Arguments -------------------------------------------------------- */

static int args_none(struct cli *cli, int argc, char **argv,
		     struct json_object *args)
{
	(void)args;
	if (argc)
		return cli_fail(cli, -EINVAL, "unexpected argument '%s'",
				argv[0]);
	return 0;
}

static int args_stats(struct cli *cli, int argc, char **argv,
		      struct json_object *args)
{
	(void)args;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-a") && strcmp(argv[i], "--all"))
			return cli_fail(cli, -EINVAL,
					"unexpected argument '%s'", argv[i]);
		cli->all = true;
	}
	return 0;
}

static int args_put(struct cli *cli, struct json_object *args,
		    const char *key, const char *val)
{
	struct json_object *s = json_object_new_string(val);

	if (!s || json_object_object_add(args, key, s)) {
		json_object_put(s);
		return cli_fail(cli, -ENOMEM, "out of memory");
	}
	return 0;
}

/*
 * NAME KEY VALUE...: the keys are those of the configuration file, passed
 * on as they are.  The daemon runs in another directory, so a relative
 * key_file is made absolute here.
 */
static int args_add(struct cli *cli, int argc, char **argv,
		    struct json_object *args)
{
	char path[PATH_MAX];
	const char *val;
	int rc;

	if (argc < 3 || argc % 2 == 0)
		return cli_fail(cli, -EINVAL,
				"expected a name, then KEY VALUE pairs");
	rc = args_put(cli, args, "name", argv[0]);
	for (int i = 1; !rc && i < argc; i += 2) {
		val = argv[i + 1];
		if (jget(args, argv[i]))
			return cli_fail(cli, -EINVAL, "%s is given twice",
					argv[i]);
		if (!strcmp(argv[i], "key_file")) {
			if (!realpath(val, path))
				return cli_fail(cli, -errno, "key file %s: %s",
						val, strerror(errno));
			val = path;
		}
		rc = args_put(cli, args, argv[i], val);
	}
	return rc;
}

/* No argument, or the name of the one SA to show. */
static int args_sa_list(struct cli *cli, int argc, char **argv,
			struct json_object *args)
{
	if (argc > 1 || (argc && !*argv[0]))
		return cli_fail(cli, -EINVAL, "expected at most one SA name");
	return argc ? args_put(cli, args, "name", argv[0]) : 0;
}

/* One connection name. */
static int args_name(struct cli *cli, int argc, char **argv,
		     struct json_object *args)
{
	if (argc != 1 || !*argv[0])
		return cli_fail(cli, -EINVAL, "expected one connection name");
	return args_put(cli, args, "name", argv[0]);
}

/* NAME or ID: a word of digits only is an id. */
static int args_del(struct cli *cli, int argc, char **argv,
		    struct json_object *args)
{
	const char *s = argc == 1 ? argv[0] : NULL;

	if (!s || !*s)
		return cli_fail(cli, -EINVAL, "expected one name or id");
	if (strspn(s, "0123456789") == strlen(s))
		return args_put(cli, args, "id", s);
	return args_put(cli, args, "name", s);
}

static int batch_run(struct cli *cli, int argc, char **argv);

static const struct command commands[] = {
	{ { "status" }, "status", args_none, print_status, "status" },
	{ { "stats" }, "stats", args_stats, print_stats, "stats [-a]" },
	{ { "sa", "list" }, "sa.list", args_sa_list, print_sa_list,
	  "sa list [NAME]" },
	{ { "sa", "add" }, "sa.add", args_add, print_sa_add,
	  "sa add NAME KEY VALUE..." },
	{ { "sa", "del" }, "sa.del", args_del, print_sa_del,
	  "sa del NAME|ID" },
	{ { "policy", "list" }, "policy.list", args_none, print_policy_list,
	  "policy list" },
	{ { "policy", "add" }, "policy.add", args_add, print_policy_add,
	  "policy add NAME KEY VALUE..." },
	{ { "policy", "del" }, "policy.del", args_del, print_policy_del,
	  "policy del NAME|ID" },
	{ { "reload" }, "reload", args_none, print_reload, "reload" },
	{ { "ike", "list" }, "ike.list", args_none, print_ike_list,
	  "ike list" },
	{ { "tunnel", "list" }, "ike.list", args_none, print_ike_list,
	  "tunnel list" },
	{ { "tunnel", "up" }, "tunnel.up", args_name, print_tunnel,
	  "tunnel up NAME" },
	{ { "tunnel", "rekey" }, "tunnel.rekey", args_name, print_tunnel,
	  "tunnel rekey NAME" },
	{ { "tunnel", "down" }, "tunnel.down", args_name, print_tunnel,
	  "tunnel down NAME" },
	{ { "batch" }, "batch", NULL, NULL, "batch FILE|-", batch_run },
};

static const struct command *command_find(int argc, char **argv, int *nwords)
{
	const struct command *c;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		c = &commands[i];
		*nwords = c->words[1] ? 2 : 1;
		if (argc < *nwords || strcmp(argv[0], c->words[0]))
			continue;
		if (*nwords == 1 || !strcmp(argv[1], c->words[1]))
			return c;
	}
	return NULL;
}

/* ---- The socket ------------------------------------------------------- */

static int sock_connect(struct cli *cli)
{
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(cli->sock) >= sizeof(sun.sun_path))
		return cli_fail(cli, -ENAMETOOLONG,
				"socket path %s is too long", cli->sock);
	strcpy(sun.sun_path, cli->sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cli_fail(cli, -errno, "socket: %s", strerror(errno));
	/* A daemon that hangs must not hang the shell that called us. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		rc = -errno;
		close(fd);
		return cli_fail(cli, rc,
				"cannot reach xdpsecd at %s: %s; is the daemon running?",
				cli->sock, strerror(-rc));
	}
	return fd;
}

static int io_error(struct cli *cli, int err)
{
	if (err == EAGAIN || err == EWOULDBLOCK)
		return cli_fail(cli, -ETIMEDOUT,
				"xdpsecd did not answer within %d seconds",
				REPLY_TIMEOUT_S);
	return cli_fail(cli, -err, "talking to xdpsecd at %s: %s", cli->sock,
			strerror(err));
}

static int send_all(struct cli *cli, int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return io_error(cli, errno);
		buf += n;
		len -= n;
	}
	return 0;
}

/* Reads until EOF into a buffer that grows as needed; *out ends in NUL. */
static int recv_all(struct cli *cli, int fd, char **out, size_t *outlen)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap), *grown;
	ssize_t n;

	while (buf) {
		if (len + 1 == cap) {
			grown = cap > SIZE_MAX / 2 ? NULL :
						     realloc(buf, cap * 2);
			if (!grown)
				break;
			buf = grown;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return io_error(cli, errno);
		}
		if (n == 0) {
			buf[len] = '\0';
			*out = buf;
			*outlen = len;
			return 0;
		}
		len += n;
	}
	free(buf);
	return cli_fail(cli, -ENOMEM, "out of memory");
}

static int reply_parse(struct cli *cli, const char *buf, size_t len,
		       struct json_object **reply)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;

	if (!len)
		return cli_fail(cli, -EPROTO,
				"xdpsecd closed the connection without a reply");
	tok = json_tokener_new();
	if (!tok)
		return cli_fail(cli, -ENOMEM, "out of memory");
	*reply = json_tokener_parse_ex(tok, buf, len);
	jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (!*reply || jerr != json_tokener_success) {
		json_object_put(*reply);
		*reply = NULL;
		return cli_fail(cli, -EPROTO, "bad reply from xdpsecd: %s",
				jerr == json_tokener_continue ?
					"truncated" :
					json_tokener_error_desc(jerr));
	}
	return 0;
}

/* Sends req and returns the daemon's reply, whatever its "ok". */
static int request_run(struct cli *cli, struct json_object *req,
		       struct json_object **reply)
{
	const char *text = json_object_to_json_string_ext(
		req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *buf = NULL;
	size_t len = 0;
	int fd, rc;

	fd = sock_connect(cli);
	if (fd < 0)
		return fd;
	rc = send_all(cli, fd, text, strlen(text));
	if (!rc && shutdown(fd, SHUT_WR))
		rc = io_error(cli, errno);
	if (!rc)
		rc = recv_all(cli, fd, &buf, &len);
	close(fd);
	if (!rc)
		rc = reply_parse(cli, buf, len, reply);
	free(buf);
	return rc;
}

/* The "data" of a successful reply, or the daemon's error message. */
static int reply_data(struct cli *cli, struct json_object *reply,
		      struct json_object **data)
{
	struct json_object *ok = jget(reply, "ok");
	const char *msg;

	if (!json_object_is_type(ok, json_type_boolean))
		return cli_fail(cli, -EPROTO,
				"bad reply from xdpsecd: no \"ok\" field");
	if (!json_object_get_boolean(ok)) {
		msg = json_object_get_string(jget(reply, "error"));
		return cli_fail(cli, -EREMOTEIO, "%s",
				msg ? msg : "the request failed");
	}
	*data = jget(reply, "data");
	return 0;
}

/* {"cmd": c->cmd, "args": {...}}; -EINVAL means a usage error. */
static int request_build(struct cli *cli, const struct command *c, int argc,
			 char **argv, struct json_object **out)
{
	struct json_object *req = json_object_new_object();
	struct json_object *args;
	int rc;

	if (!req || args_put(cli, req, "cmd", c->cmd))
		goto err_nomem;
	args = json_object_new_object();
	if (!args || json_object_object_add(req, "args", args)) {
		json_object_put(args);
		goto err_nomem;
	}
	rc = c->args(cli, argc, argv, args);
	if (rc) {
		json_object_put(req);
		return rc;
	}
	*out = req;
	return 0;
err_nomem:
	json_object_put(req);
	return cli_fail(cli, -ENOMEM, "out of memory");
}

/* ---- batch ------------------------------------------------------------ */

/*
 * "xdpsec batch FILE": every line of FILE is a command as it would follow
 * "xdpsec" on the command line ("sa add NAME KEY VALUE...", "policy add
 * ...", "sa del NAME"), '#' starts a comment.  The whole file is checked
 * first, so that a mistyped line sends nothing.  Then the requests go
 * over one connection, after a {"cmd": "batch"} line, one a line; the
 * daemon answers each on a line, and once more for the batch as a whole.
 * Replies that fail are printed with the line they answer.
 */
enum { BATCH_ARGS_MAX = 128 };

struct batch {
	const char *file;		/* as named in messages */
	char *text;			/* request lines, header first */
	size_t len;
	size_t cap;
	unsigned int *lines;		/* the file line of each request */
	size_t n;
	size_t lines_cap;
	unsigned long failed;
};

static int batch_append(struct cli *cli, struct batch *b, const char *s,
			unsigned int line)
{
	size_t len = strlen(s) + 1;
	unsigned int *lines;
	char *text;

	while (b->len + len > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 1 << 16;
		text = realloc(b->text, b->cap);
		if (!text)
			return cli_fail(cli, -ENOMEM, "out of memory");
		b->text = text;
	}
	memcpy(b->text + b->len, s, len - 1);
	b->text[b->len + len - 1] = '\n';
	b->len += len;
	if (!line)
		return 0;	/* the header answers no line */
	if (b->n == b->lines_cap) {
		b->lines_cap = b->lines_cap ? b->lines_cap * 2 : 1024;
		lines = realloc(b->lines, b->lines_cap * sizeof(*lines));
		if (!lines)
			return cli_fail(cli, -ENOMEM, "out of memory");
		b->lines = lines;
	}
	b->lines[b->n++] = line;
	return 0;
}

/* Splits a line into words at blanks; '#' at a word's start ends it. */
static int batch_words(char *s, char **words)
{
	int n = 0;

	for (char *w = strtok(s, " \t\r\n"); w; w = strtok(NULL, " \t\r\n")) {
		if (w[0] == '#')
			break;
		if (n == BATCH_ARGS_MAX)
			return -E2BIG;
		words[n++] = w;
	}
	return n;
}

/* One line of the file into a request line, or a message naming it. */
static int batch_line(struct cli *cli, struct batch *b, char *s,
		      unsigned int line)
{
	char *words[BATCH_ARGS_MAX];
	const struct command *c;
	struct json_object *req = NULL;
	int n = batch_words(s, words), nwords = 0, rc;

	if (n == -E2BIG)
		return cli_fail(cli, -EINVAL, "%s:%u: more than %d words",
				b->file, line, BATCH_ARGS_MAX);
	if (!n)
		return 0;
	c = command_find(n, words, &nwords);
	if (!c || c->run)
		return cli_fail(cli, -EINVAL, "%s:%u: unknown command '%s'",
				b->file, line, words[0]);
	rc = request_build(cli, c, n - nwords, words + nwords, &req);
	if (rc) {
		char msg[sizeof(cli->err)];

		snprintf(msg, sizeof(msg), "%s", cli->err);
		cli->err[0] = '\0';
		return cli_fail(cli, rc, "%s:%u: %s (usage: %s)", b->file,
				line, msg, c->usage);
	}
	rc = batch_append(cli, b, json_object_to_json_string_ext(
			  req, JSON_C_TO_STRING_PLAIN |
			       JSON_C_TO_STRING_NOSLASHESCAPE), line);
	json_object_put(req);
	return rc;
}

static int batch_read(struct cli *cli, struct batch *b, FILE *f)
{
	char *buf = NULL;
	size_t cap = 0;
	unsigned int line = 0;
	int rc;

	rc = batch_append(cli, b, "{\"cmd\":\"batch\"}", 0);
	while (!rc && getline(&buf, &cap, f) >= 0)
		rc = batch_line(cli, b, buf, ++line);
	if (!rc && ferror(f))
		rc = cli_fail(cli, -EIO, "%s: %s", b->file, strerror(errno));
	free(buf);
	return rc;
}

/*
 * Reply number k (0-based): requests first, the batch's own last.  A
 * failed request is printed with its line; *done is set by the last.
 */
static int batch_reply(struct cli *cli, struct batch *b, size_t k,
		       const char *text, bool *done)
{
	struct json_object *reply = NULL, *data = NULL;
	int rc;

	rc = reply_parse(cli, text, strlen(text), &reply);
	if (rc)
		return rc;
	rc = reply_data(cli, reply, &data);
	if (k < b->n) {
		if (rc) {
			fprintf(stderr, "xdpsec: %s:%u: %s\n", b->file,
				b->lines[k], cli->err);
			cli->err[0] = '\0';
			b->failed++;
		}
		json_object_put(reply);
		return 0;
	}
	*done = true;
	if (!rc && cli->json)
		printf("%s\n", json_object_to_json_string_ext(
				       data, JSON_C_TO_STRING_PRETTY));
	else if (!rc)
		printf("%zu requests, %lu failed\n", b->n, b->failed);
	json_object_put(reply);
	return rc;
}

/* Hands each complete line of in[0..*len) to batch_reply, keeps the rest. */
static int batch_replies(struct cli *cli, struct batch *b, char *in,
			 size_t *len, size_t *k, bool *done)
{
	char *start = in, *nl;
	int rc = 0;

	while (!rc && (nl = memchr(start, '\n', in + *len - start))) {
		*nl = '\0';
		rc = batch_reply(cli, b, (*k)++, start, done);
		start = nl + 1;
	}
	*len -= start - in;
	memmove(in, start, *len);
	return rc;
}

/*
 * Writes the requests while it reads the replies: the daemon answers as
 * it goes, and neither side may wait for the other to drain its socket.
 */
static int batch_exchange(struct cli *cli, struct batch *b, int fd)
{
	size_t sent = 0, len = 0, cap = 1 << 16, k = 0;
	char *in = malloc(cap);
	bool done = false;
	int rc = 0;

	while (!rc && !done && in) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (sent < b->len)
			pfd.events |= POLLOUT;
		n = poll(&pfd, 1, REPLY_TIMEOUT_S * 1000);
		if (n <= 0) {
			rc = n ? io_error(cli, errno) : io_error(cli, EAGAIN);
			break;
		}
		if (pfd.revents & POLLOUT) {
			n = send(fd, b->text + sent, b->len - sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				rc = io_error(cli, errno);
			sent += n > 0 ? n : 0;
			if (!rc && sent == b->len && shutdown(fd, SHUT_WR))
				rc = io_error(cli, errno);
		}
		if (rc || !(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		if (len + 1 == cap) {
			char *grown = realloc(in, cap * 2);

			if (!grown)
				break;
			in = grown;
			cap *= 2;
		}
		n = recv(fd, in + len, cap - len - 1, MSG_DONTWAIT);
		if (n == 0)
			rc = cli_fail(cli, -EPROTO,
				      "xdpsecd closed the connection after %zu of %zu replies",
				      k, b->n + 1);
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			rc = io_error(cli, errno);
		len += n > 0 ? n : 0;
		if (!rc && n > 0)
			rc = batch_replies(cli, b, in, &len, &k, &done);
	}
	if (!in)
		rc = cli_fail(cli, -ENOMEM, "out of memory");
	free(in);
	return rc;
}

static int batch_run(struct cli *cli, int argc, char **argv)
{
	struct batch b = { 0 };
	FILE *f = stdin;
	int fd, rc;

	if (argc != 1)
		return cli_fail(cli, -EINVAL, "expected one file, or -");
	b.file = strcmp(argv[0], "-") ? argv[0] : "<stdin>";
	if (strcmp(argv[0], "-") && !(f = fopen(argv[0], "re")))
		return cli_fail(cli, -errno, "%s: %s", argv[0],
				strerror(errno));
	rc = batch_read(cli, &b, f);
	if (f != stdin)
		fclose(f);
	/* A line that does not parse is a mistake in the file: exit 2. */
	if (rc) {
		fprintf(stderr, "xdpsec: %s\n", cli->err);
		free(b.text);
		free(b.lines);
		exit(EXIT_USAGE);
	}

	fd = sock_connect(cli);
	rc = fd < 0 ? fd : batch_exchange(cli, &b, fd);
	if (fd >= 0)
		close(fd);
	if (!rc && b.failed)
		rc = cli_fail(cli, -EREMOTEIO, "%lu of %zu requests failed",
			      b.failed, b.n);
	free(b.text);
	free(b.lines);
	return rc;
}

/* ---- main ------------------------------------------------------------- */

/* Returns 0 to go on, 1 after -h, or -EINVAL on a usage error. */
static int options_parse(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "instance", required_argument, NULL, 'n' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	cli->instance = "default";
	/* '+': options after COMMAND belong to it, as in "stats -a". */
	while ((o = getopt_long(argc, argv, "+n:s:jh", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			cli->instance = optarg;
			break;
		case 's':
			cli->sock = optarg;
			break;
		case 'j':
			cli->json = true;
			break;
		case 'h':
			return 1;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

static int sock_path(struct cli *cli)
{
	const char *n = cli->instance;
	int len;

	if (cli->sock)
		return 0;
	/* The instance name becomes a file name: no '/' and no "..". */
	if (!*n || strchr(n, '/') || !strcmp(n, ".") || !strcmp(n, ".."))
		return cli_fail(cli, -EINVAL, "invalid instance name '%s'", n);
	len = snprintf(cli->sock_buf, sizeof(cli->sock_buf), "%s/%s.sock",
		       RUN_DIR, n);
	if (len < 0 || (size_t)len >= sizeof(cli->sock_buf))
		return cli_fail(cli, -ENAMETOOLONG,
				"instance name '%s' is too long", n);
	cli->sock = cli->sock_buf;
	return 0;
}

static int data_print(struct cli *cli, const struct command *c,
		      struct json_object *req, struct json_object *data)
{
	int flags = JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		    JSON_C_TO_STRING_NOSLASHESCAPE;

	if (cli->json) {
		printf("%s\n", json_object_to_json_string_ext(data, flags));
		return 0;
	}
	return c->print(cli, jget(req, "args"), data);
}

static int run(struct cli *cli, const struct command *c,
	       struct json_object *req)
{
	struct json_object *reply = NULL, *data = NULL;
	int rc;

	rc = request_run(cli, req, &reply);
	if (!rc)
		rc = reply_data(cli, reply, &data);
	if (!rc)
		rc = data_print(cli, c, req, data);
	if (!rc && (fflush(stdout) || ferror(stdout)))
		rc = cli_fail(cli, -EIO, "cannot write the output: %s",
			      strerror(errno));
	json_object_put(reply);
	return rc;
}

int main(int argc, char **argv)
{
	struct json_object *req = NULL;
	const struct command *c;
	struct cli cli = { 0 };
	int rc, nwords = 0;

	rc = options_parse(&cli, argc, argv);
	if (rc > 0) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	c = rc ? NULL : command_find(argc - optind, argv + optind, &nwords);
	if (!c) {
		if (!rc && optind < argc)
			fprintf(stderr, "xdpsec: unknown command '%s'\n",
				argv[optind]);
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (sock_path(&cli)) {
		fprintf(stderr, "xdpsec: %s\n", cli.err);
		return EXIT_USAGE;
	}
	if (c->run) {
		rc = c->run(&cli, argc - optind - nwords,
			    argv + optind + nwords);
		if (rc == -EINVAL)
			fprintf(stderr, "xdpsec: %s\nusage: xdpsec %s\n",
				cli.err, c->usage);
		else if (rc)
			fprintf(stderr, "xdpsec: %s\n", cli.err);
		return rc == -EINVAL ? EXIT_USAGE : rc ? EXIT_FAIL : EXIT_OK;
	}
	rc = request_build(&cli, c, argc - optind - nwords,
			   argv + optind + nwords, &req);
	if (rc == -EINVAL) {
		fprintf(stderr, "xdpsec: %s\nusage: xdpsec %s\n", cli.err,
			c->usage);
		return EXIT_USAGE;
	}
	if (!rc)
		rc = run(&cli, c, req);
	json_object_put(req);
	if (rc) {
		fprintf(stderr, "xdpsec: %s\n", cli.err);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
