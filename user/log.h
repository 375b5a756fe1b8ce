/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One logger for the daemon and the CLI.  Messages go to stderr in the
 * foreground and to syslog when daemonised.  Anything a remote peer can
 * trigger must use log_ratelimited() so it cannot make us log without limit.
 */
#ifndef XDPSEC_LOG_H
#define XDPSEC_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

void log_init(const char *ident, enum log_level level, bool use_syslog);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_level_parse(const char *name, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/*
 * A token bucket: at most `burst` messages, refilled at `per_sec` a second.
 * Messages over the limit are counted and reported once the bucket refills.
 */
struct log_limit {
	uint32_t per_sec;
	uint32_t burst;
	uint32_t tokens;
	uint32_t suppressed;
	uint64_t last_ns;
};

#define LOG_LIMIT_INIT(rate, b) { .per_sec = (rate), .burst = (b), .tokens = (b) }

bool log_limit_allow(struct log_limit *lim);

#define log_ratelimited(lim, level, ...)				\
	do {								\
		if (log_limit_allow(lim))				\
			log_msg(level, __VA_ARGS__);			\
	} while (0)

#endif /* XDPSEC_LOG_H */
