/*
 * The control socket (see control.h): a unix stream socket in the
 * supervisor's event loop.
 *
 * The supervisor must never wait for a client, so everything here is
 * nonblocking and bounded: a request is one line of at most REQ_MAX bytes,
 * at most CLIENTS_MAX clients are served at once (more are told "busy"),
 * and a client that has not sent its line and read its whole answer within
 * CLIENT_TIMEOUT_MS is dropped. The answer is built at once (its size is
 * bounded by the request handlers) and then written as the client reads.
 *
 * The socket file gets mode 0660 (the umask is narrowed around bind()), in
 * a directory created 0755 if missing. A socket file left by an sbcd that
 * died is removed at start, but only when connecting to it is refused:
 * never a file that is not a socket, never one where someone listens.
 */

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <re.h>
#include "cfg/log.h"
#include "cfg/json.h"
#include "daemon/path.h"
#include "daemon/control.h"

enum {
	REQ_MAX = 512,
	CLIENTS_MAX = 16,
	CLIENT_TIMEOUT_MS = 5000,
	BACKLOG = 16,
	SOCKET_UMASK = 0117,       /* a socket file of mode 0660 */
};

struct sbc_control {
	struct list clients;
	char *path;
	int fd;
	sbc_ctl_req_h *reqh;
	void *arg;
};

struct client {
	struct le le;
	struct sbc_control *ctl;
	struct mbuf *out;          /* the answer, once the request is read */
	struct tmr tmr;
	int fd;
	size_t len;
	char line[REQ_MAX];
};

static const char *cmd_names[] = {
	[SBC_CTL_STATUS]        = "status",
	[SBC_CTL_WORKERS]       = "workers",
	[SBC_CTL_REGISTRATIONS] = "registrations",
	[SBC_CTL_DIALOGS]       = "dialogs",
	[SBC_CTL_DIALOG_END]    = "dialog end",
	[SBC_CTL_RELOAD]        = "reload",
	[SBC_CTL_BACKENDS]      = "backends",
	[SBC_CTL_HEALTH]        = "health",
	[SBC_CTL_MEDIA]         = "media",
};


static void client_destructor(void *arg)
{
	struct client *c = arg;

	tmr_cancel(&c->tmr);
	list_unlink(&c->le);
	if (c->fd >= 0) {
		fd_close(c->fd);
		(void)close(c->fd);
	}
	mem_deref(c->out);
}


static void control_destructor(void *arg)
{
	struct sbc_control *ctl = arg;

	list_flush(&ctl->clients);

	if (ctl->fd >= 0) {
		fd_close(ctl->fd);
		(void)close(ctl->fd);
		if (unlink(ctl->path) < 0)
			sbc_warn("cannot remove the control socket %s: %m",
				 ctl->path, errno);
	}

	mem_deref(ctl->path);
}


static void client_timeout(void *arg)
{
	struct client *c = arg;

	sbc_debug("control: client too slow, dropped");
	mem_deref(c);
}


/* Read and drop what is there; false once the client has closed. */
static bool input_discard(int fd)
{
	char buf[REQ_MAX];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;

		return n < 0 && errno == EAGAIN;
	}
}


static void client_linger(int flags, void *arg)
{
	struct client *c = arg;
	(void)flags;

	if (!input_discard(c->fd))
		mem_deref(c);
}


/*
 * Write the answer as the client reads it. Then the close is a lingering
 * one: closing a unix socket with unread input resets the connection, and
 * the client would lose the end of its answer. So the answer is ended with
 * shutdown(SHUT_WR) and whatever else the client sends is read and dropped
 * until it closes (or its time is up).
 */
static void client_write(int flags, void *arg)
{
	struct client *c = arg;
	struct mbuf *mb = c->out;
	(void)flags;

	while (mbuf_get_left(mb)) {
		ssize_t n = send(c->fd, mbuf_buf(mb), mbuf_get_left(mb),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			sbc_debug("control: client went away: %m", errno);
			mem_deref(c);
			return;
		}
		mb->pos += (size_t)n;
	}

	if (shutdown(c->fd, SHUT_WR) < 0 ||
	    fd_listen(c->fd, FD_READ, client_linger, c))
		mem_deref(c);
}


/* Status line, then the body. */
static int answer_make(struct client *c, const struct sbc_ctl_reply *rep)
{
	int err;

	c->out = mbuf_alloc(mbuf_get_left(rep->body) + 64);
	if (!c->out)
		return ENOMEM;

	err = mbuf_printf(c->out, "%s%s%H\n", rep->failed ? "error" : "ok",
			  rep->note[0] ? ": " : "", sbc_text_safe,
			  rep->note[0] ? rep->note : "");
	err |= mbuf_write_mem(c->out, mbuf_buf(rep->body),
			      mbuf_get_left(rep->body));
	c->out->pos = 0;

	return err;
}


static void client_serve(struct client *c)
{
	struct sbc_ctl_reply rep;
	struct sbc_ctl_req req;
	int err;

	memset(&rep, 0, sizeof(rep));
	rep.body = mbuf_alloc(1024);
	if (!rep.body) {
		mem_deref(c);
		return;
	}

	if (sbc_ctl_req_parse(&req, c->line)) {
		rep.failed = true;
		(void)re_snprintf(rep.note, sizeof(rep.note),
				  "unknown request '%s': expected status, "
				  "workers, registrations [AOR], dialogs, "
				  "dialog end CALL-ID or reload, "
				  "optionally followed by json", c->line);
	}
	else {
		c->ctl->reqh(&rep, &req, c->ctl->arg);
	}

	rep.body->pos = 0;
	err = answer_make(c, &rep);
	mem_deref(rep.body);
	if (!err)
		err = fd_listen(c->fd, FD_WRITE, client_write, c);
	if (err) {
		sbc_warn("control: cannot answer: %m", err);
		mem_deref(c);
	}
}


static void client_read(int flags, void *arg)
{
	struct client *c = arg;
	char *nl;
	ssize_t n;
	(void)flags;

	n = recv(c->fd, c->line + c->len, sizeof(c->line) - 1 - c->len,
		 MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			mem_deref(c);
		return;
	}

	c->len += (size_t)n;
	c->line[c->len] = '\0';

	nl = memchr(c->line, '\n', c->len);
	if (nl)
		*nl = '\0';
	else if (n > 0 && c->len < sizeof(c->line) - 1)
		return;

	/* a line, an end of file after some bytes, or a line too long
	 * (served cut, so it is refused as unknown) */
	if (!nl && !c->len) {
		mem_deref(c);
		return;
	}

	client_serve(c);
}


static void client_alloc(struct sbc_control *ctl, int fd)
{
	struct client *c;
	int err;

	c = mem_zalloc(sizeof(*c), client_destructor);
	if (!c) {
		(void)close(fd);
		return;
	}

	c->ctl = ctl;
	c->fd = fd;
	tmr_init(&c->tmr);
	list_append(&ctl->clients, &c->le, c);

	err = fd_listen(fd, FD_READ, client_read, c);
	if (err) {
		sbc_warn("control: cannot listen on a client: %m", err);
		mem_deref(c);
		return;
	}

	tmr_start(&c->tmr, CLIENT_TIMEOUT_MS, client_timeout, c);
}


static void control_accept(int flags, void *arg)
{
	static const char busy[] = "error: busy, try again\n";
	struct sbc_control *ctl = arg;
	(void)flags;

	for (;;) {
		int fd = accept4(ctl->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				sbc_warn("control: accept failed: %m", errno);
			return;
		}

		/* too many: told so at once, with no lingering (sbcctl
		 * takes a reset after an answer as its end) */
		if (list_count(&ctl->clients) >= CLIENTS_MAX) {
			(void)input_discard(fd);
			(void)send(fd, busy, sizeof(busy) - 1,
				   MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)shutdown(fd, SHUT_WR);
			(void)close(fd);
			continue;
		}

		client_alloc(ctl, fd);
	}
}


/*
 * A socket file already at path: remove it if nobody listens on it.
 * 0 when the path is free.
 */
static int stale_remove(const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, err = 0;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : errno;

	if (!S_ISSOCK(st.st_mode)) {
		sbc_error("control socket %s: the file exists and is not a "
			  "socket, not removed", sun->sun_path);
		return EEXIST;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;

	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0)
		err = errno;
	(void)close(fd);

	if (!err || err == EAGAIN) {
		sbc_error("control socket %s: another process listens on it "
			  "(is sbcd already running?)", sun->sun_path);
		return EADDRINUSE;
	}

	if (err != ECONNREFUSED)
		return err;

	if (unlink(sun->sun_path) < 0)
		return errno;

	sbc_info("control socket %s: removed a stale socket file",
		 sun->sun_path);

	return 0;
}


static int control_bind(struct sbc_control *ctl, const struct sockaddr_un *sun)
{
	mode_t mask;
	int err = 0;

	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0);
	if (ctl->fd < 0)
		return errno;

	mask = umask(SOCKET_UMASK);
	if (bind(ctl->fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0)
		err = errno;
	(void)umask(mask);

	if (err) {
		(void)close(ctl->fd);
		ctl->fd = -1;
		return err;
	}

	if (listen(ctl->fd, BACKLOG) < 0)
		return errno;

	return fd_listen(ctl->fd, FD_READ, control_accept, ctl);
}


/*
 * Listen on the control socket at path; requests go to reqh. The socket
 * file is removed when the returned object is released.
 */
int sbc_control_alloc(struct sbc_control **ctlp, const char *path,
		      sbc_ctl_req_h *reqh, void *arg)
{
	struct sbc_control *ctl;
	struct sockaddr_un sun;
	int err;

	if (!ctlp || !path || !*path || !reqh)
		return EINVAL;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		sbc_error("control socket %s: the path is longer than %zu "
			  "bytes", path, sizeof(sun.sun_path) - 1);
		return ENAMETOOLONG;
	}
	str_ncpy(sun.sun_path, path, sizeof(sun.sun_path));

	ctl = mem_zalloc(sizeof(*ctl), control_destructor);
	if (!ctl)
		return ENOMEM;

	ctl->fd = -1;
	ctl->reqh = reqh;
	ctl->arg = arg;
	list_init(&ctl->clients);

	err = str_dup(&ctl->path, path);
	if (err)
		goto out;

	err = sbc_path_mkparent(path);
	if (err) {
		sbc_error("control socket %s: cannot create its directory: "
			  "%m", path, err);
		goto out;
	}

	err = stale_remove(&sun);
	if (err) {
		if (err != EEXIST && err != EADDRINUSE)
			sbc_error("control socket %s: %m", path, err);
		goto out;
	}

	err = control_bind(ctl, &sun);
	if (err)
		sbc_error("control socket %s: cannot listen: %m", path, err);

 out:
	if (err)
		mem_deref(ctl);
	else
		*ctlp = ctl;

	return err;
}


static int cmd_parse(enum sbc_ctl_cmd *cmdp, const char *word)
{
	for (size_t i = 0; i < ARRAY_SIZE(cmd_names); i++) {
		if (0 == strcmp(word, cmd_names[i])) {
			*cmdp = (enum sbc_ctl_cmd)i;
			return 0;
		}
	}

	return EINVAL;
}


/*
 * Parse `COMMAND [ARG] [json]` (words separated by spaces or tabs, a
 * trailing CR ignored). Only registrations takes an argument, and
 * "dialog end" is followed by one. EINVAL for anything else.
 */
int sbc_ctl_req_parse(struct sbc_ctl_req *req, const char *line)
{
	char buf[REQ_MAX], *word[4], *save = NULL;
	unsigned n = 0;

	if (!req || !line || strlen(line) >= sizeof(buf))
		return EINVAL;

	memset(req, 0, sizeof(*req));
	str_ncpy(buf, line, sizeof(buf));

	for (char *w = strtok_r(buf, " \t\r", &save); w;
	     w = strtok_r(NULL, " \t\r", &save)) {
		if (n == ARRAY_SIZE(word))
			return EINVAL;
		word[n++] = w;
	}

	if (n > 1 && 0 == strcmp(word[n - 1], "json")) {
		req->json = true;
		--n;
	}

	if (n == 3 && !strcmp(word[0], "dialog") && !strcmp(word[1], "end")) {
		if (strlen(word[2]) >= sizeof(req->arg))
			return EINVAL;
		req->cmd = SBC_CTL_DIALOG_END;
		str_ncpy(req->arg, word[2], sizeof(req->arg));
		return 0;
	}

	if (!n || n > 2 || cmd_parse(&req->cmd, word[0]) ||
	    req->cmd == SBC_CTL_DIALOG_END)
		return EINVAL;

	if (n == 2) {
		if (req->cmd != SBC_CTL_REGISTRATIONS ||
		    strlen(word[1]) >= sizeof(req->arg))
			return EINVAL;
		str_ncpy(req->arg, word[1], sizeof(req->arg));
	}

	return 0;
}


const char *sbc_ctl_cmd_name(enum sbc_ctl_cmd cmd)
{
	return cmd <= SBC_CTL_MEDIA ? cmd_names[cmd] : "?";
}
