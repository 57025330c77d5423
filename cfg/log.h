/*
 * Logging.
 *
 * Every process writes one line per event to stderr, prefixed with who it
 * is, so the interleaved output of the supervisor, the workers and the relay
 * reads as one log: `[role/index pid] level: what happened`. The message is
 * formatted by libre's printf, so `%m` prints an errno value (an int) as
 * text, `%r` a struct pl and `%H` whatever a print handler prints.
 *
 * A line is written with a single write(2), shorter than PIPE_BUF, so lines
 * of different processes never mix. A process calls sbc_log_init() once, and
 * again in each child after fork (the prefix carries the role and the pid).
 */

enum sbc_log_level {
	SBC_LOG_DEBUG = 0,
	SBC_LOG_INFO,
	SBC_LOG_NOTICE,
	SBC_LOG_WARNING,
	SBC_LOG_ERROR,
};

void sbc_log_init(const char *role, unsigned index, enum sbc_log_level level);
void sbc_log_set_level(enum sbc_log_level level);
void sbc_log_set_syslog(bool on);
bool sbc_log_enabled(enum sbc_log_level level);
void sbc_vlog(enum sbc_log_level level, const char *fmt, va_list ap);
void sbc_log(enum sbc_log_level level, const char *fmt, ...);
void sbc_log_print(enum sbc_log_level level, re_printf_h *ph, void *arg);

int sbc_log_level_parse(enum sbc_log_level *levelp, const char *name);
const char *sbc_log_level_name(enum sbc_log_level level);

#define sbc_debug(...)  sbc_log(SBC_LOG_DEBUG, __VA_ARGS__)
#define sbc_info(...)   sbc_log(SBC_LOG_INFO, __VA_ARGS__)
#define sbc_notice(...) sbc_log(SBC_LOG_NOTICE, __VA_ARGS__)
#define sbc_warn(...)   sbc_log(SBC_LOG_WARNING, __VA_ARGS__)
#define sbc_error(...)  sbc_log(SBC_LOG_ERROR, __VA_ARGS__)
