// SPDX-License-Identifier: GPL-2.0-only
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static enum log_level log_level = LOG_LVL_INFO;
static bool log_syslog;
static const char *log_ident = "xdpsec";

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "error",
	[LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

static const int level_syslog[] = {
	[LOG_LVL_ERR] = LOG_ERR,
	[LOG_LVL_WARN] = LOG_WARNING,
	[LOG_LVL_INFO] = LOG_INFO,
	[LOG_LVL_DEBUG] = LOG_DEBUG,
};

void log_init(const char *ident, enum log_level level, bool use_syslog)
{
	log_ident = ident;
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (unsigned int i = 0; i <= LOG_LVL_DEBUG; i++) {
		if (!strcmp(name, level_names[i])) {
			*out = i;
			return 0;
		}
	}
	if (!strcmp(name, "warn")) {
		*out = LOG_LVL_WARN;
		return 0;
	}
	return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	char line[1024];
	va_list ap;

	if (level > log_level)
		return;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);

	if (log_syslog) {
		syslog(level_syslog[level], "%s", line);
		return;
	}
	pthread_mutex_lock(&lock);
	fprintf(stderr, "%s: %s: %s\n", log_ident, level_names[level], line);
	pthread_mutex_unlock(&lock);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

bool log_limit_allow(struct log_limit *lim)
{
	uint64_t now = now_ns();
	uint64_t refill = (now - lim->last_ns) * lim->per_sec / 1000000000ull;

	if (refill) {
		lim->tokens = refill + lim->tokens > lim->burst ?
			lim->burst : lim->tokens + refill;
		lim->last_ns = now;
		if (lim->suppressed && lim->tokens) {
			log_msg(LOG_LVL_WARN, "%u similar messages suppressed",
				lim->suppressed);
			lim->suppressed = 0;
		}
	}
	if (!lim->tokens) {
		lim->suppressed++;
		return false;
	}
	lim->tokens--;
	return true;
}
