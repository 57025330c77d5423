/*
 * Logging: one line per event on stderr, `[role/index pid] level: message`.
 *
 * A line is built in a buffer on the stack by libre's printf (so `%m` prints
 * an errno as text) and written with one write(2): lines are at most
 * LOG_LINE_SIZE bytes, below PIPE_BUF, so the lines of the supervisor and of
 * its children never interleave mid-line. A message too long for the line
 * is cut and ends in "...". No allocation, so logging works when memory
 * has run out.
 *
 * With log.target = "syslog" the same line (prefix included, as the
 * processes share one ident) goes to syslog(3), facility daemon, at the
 * priority of its level.
 */

#include <errno.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <re.h>
#include "cfg/log.h"

enum {
	LOG_LINE_SIZE = 1024,
	LOG_ROLE_SIZE = 16,
};

struct log_line {
	char buf[LOG_LINE_SIZE];
	size_t len;
	size_t hdr;       /* length of the prefix */
	bool cut;         /* the message did not fit */
	bool split;       /* start a new line at each '\n' (sbc_log_print) */
	enum sbc_log_level level;
};

static struct {
	char role[LOG_ROLE_SIZE];
	unsigned index;
	pid_t pid;
	enum sbc_log_level level;
	bool syslog;
} logger = {
	.role = "sbcd",
	.level = SBC_LOG_INFO,
};

static const char *level_names[] = {
	[SBC_LOG_DEBUG]   = "debug",
	[SBC_LOG_INFO]    = "info",
	[SBC_LOG_NOTICE]  = "notice",
	[SBC_LOG_WARNING] = "warning",
	[SBC_LOG_ERROR]   = "error",
};


/* Set who this process is and which levels it logs. Call again after fork. */
void sbc_log_init(const char *role, unsigned index, enum sbc_log_level level)
{
	str_ncpy(logger.role, role ? role : "sbcd", sizeof(logger.role));
	logger.index = index;
	logger.pid = getpid();
	sbc_log_set_level(level);
}


void sbc_log_set_level(enum sbc_log_level level)
{
	logger.level = level > SBC_LOG_ERROR ? SBC_LOG_ERROR : level;
}


/* Send lines to syslog instead of stderr, or back. */
void sbc_log_set_syslog(bool on)
{
	if (on && !logger.syslog)
		openlog("sbcd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!on && logger.syslog)
		closelog();

	logger.syslog = on;
}


static int syslog_priority(enum sbc_log_level level)
{
	switch (level) {

	case SBC_LOG_DEBUG:   return LOG_DEBUG;
	case SBC_LOG_INFO:    return LOG_INFO;
	case SBC_LOG_NOTICE:  return LOG_NOTICE;
	case SBC_LOG_WARNING: return LOG_WARNING;
	default:              return LOG_ERR;
	}
}


bool sbc_log_enabled(enum sbc_log_level level)
{
	return level >= logger.level;
}


/* Write the line and its newline; a line stderr refuses is lost, as there
 * is nowhere else to report it. */
static void line_flush(struct log_line *line)
{
	size_t off = 0;

	if (line->cut)
		memcpy(line->buf + line->len - 3, "...", 3);

	if (logger.syslog) {
		syslog(syslog_priority(line->level), "%.*s",
		       (int)line->len, line->buf);
		line->len = line->hdr;
		line->cut = false;
		return;
	}

	line->buf[line->len++] = '\n';

	while (off < line->len) {
		ssize_t n = write(STDERR_FILENO, line->buf + off,
				  line->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}

	line->len = line->hdr;
	line->cut = false;
}


/* libre print handler: append to the line, one byte kept for '\n'. */
static int line_append(const char *p, size_t size, void *arg)
{
	struct log_line *line = arg;

	for (size_t i = 0; i < size; i++) {

		if (line->split && p[i] == '\n') {
			line_flush(line);
			continue;
		}

		if (line->len + 1 >= sizeof(line->buf)) {
			line->cut = true;
			continue;
		}

		line->buf[line->len++] = p[i];
	}

	return 0;
}


static void line_start(struct log_line *line, enum sbc_log_level level,
		       bool split)
{
	struct re_printf pf = { line_append, line };

	if (!logger.pid)
		logger.pid = getpid();

	line->len = 0;
	line->cut = false;
	line->split = false;
	line->level = level;

	(void)re_hprintf(&pf, "[%s/%u %d] %s: ", logger.role, logger.index,
			 (int)logger.pid, sbc_log_level_name(level));

	line->hdr = line->len;
	line->split = split;
}


void sbc_vlog(enum sbc_log_level level, const char *fmt, va_list ap)
{
	struct log_line line;
	int errsv = errno;

	if (!sbc_log_enabled(level) || !fmt)
		return;

	line_start(&line, level, false);
	(void)re_vhprintf(fmt, ap, line_append, &line);
	line_flush(&line);

	errno = errsv;
}


void sbc_log(enum sbc_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbc_vlog(level, fmt, ap);
	va_end(ap);
}


/*
 * Log what a libre print handler prints (a table, a layout), one log line
 * per line of its output, each with the usual prefix.
 */
void sbc_log_print(enum sbc_log_level level, re_printf_h *ph, void *arg)
{
	struct log_line line;
	struct re_printf pf = { line_append, &line };
	int errsv = errno;

	if (!sbc_log_enabled(level) || !ph)
		return;

	line_start(&line, level, true);
	(void)ph(&pf, arg);
	if (line.len > line.hdr)
		line_flush(&line);

	errno = errsv;
}


/* Parse a level name as written in the config: EINVAL if unknown. */
int sbc_log_level_parse(enum sbc_log_level *levelp, const char *name)
{
	if (!levelp || !name)
		return EINVAL;

	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (0 == str_cmp(name, level_names[i])) {
			*levelp = (enum sbc_log_level)i;
			return 0;
		}
	}

	return EINVAL;
}


const char *sbc_log_level_name(enum sbc_log_level level)
{
	return level <= SBC_LOG_ERROR ? level_names[level] : "?";
}
