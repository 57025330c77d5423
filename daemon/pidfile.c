/*
 * The PID file.
 *
 * Written after the configuration is found valid and before anything is
 * created or bound, so a second sbcd started by mistake stops before it
 * could take a port or the control socket from the first one. It is
 * refused when the file names a live process, and also when another
 * process holds its lock: sbcd keeps an exclusive flock() on the file for
 * its whole life, which closes the race of two sbcd starting at once
 * (both would find no live PID and both would write theirs). The lock's fd
 * is close-on-exec and workers close every fd they do not need, so only
 * the supervisor holds it.
 *
 * The file is removed when the object is released, at a clean stop.
 */

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <re.h>
#include "cfg/log.h"
#include "daemon/path.h"
#include "daemon/pidfile.h"

enum {
	PID_TEXT_MAX = 32,
	FILE_MODE = 0644,
};

struct sbc_pidfile {
	char *path;
	int fd;
};


static void pidfile_destructor(void *arg)
{
	struct sbc_pidfile *pf = arg;

	if (pf->fd >= 0) {
		if (unlink(pf->path) < 0)
			sbc_warn("cannot remove the PID file %s: %m",
				 pf->path, errno);
		(void)close(pf->fd);
	}

	mem_deref(pf->path);
}


/* The PID the file names, 0 if none can be read. */
static pid_t pid_read(int fd)
{
	char buf[PID_TEXT_MAX];
	ssize_t n;
	long v;
	char *end;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;

	buf[n] = '\0';
	v = strtol(buf, &end, 10);
	if (end == buf || v <= 0 || v > INT32_MAX)
		return 0;

	return (pid_t)v;
}


static bool pid_live(pid_t pid)
{
	return pid > 0 && pid != getpid() &&
		(kill(pid, 0) == 0 || errno == EPERM);
}


static int pid_write(int fd)
{
	char buf[PID_TEXT_MAX];
	int len = re_snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (len <= 0)
		return EINVAL;

	if (ftruncate(fd, 0) < 0)
		return errno;

	if (pwrite(fd, buf, (size_t)len, 0) != len)
		return errno ? errno : EIO;

	return 0;
}


static int pidfile_take(struct sbc_pidfile *pf)
{
	pid_t pid;

	pf->fd = open(pf->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		      FILE_MODE);
	if (pf->fd < 0)
		return errno;

	if (flock(pf->fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		if (err != EWOULDBLOCK)
			return err;
		pid = pid_read(pf->fd);
		sbc_error("PID file %s is held by a running sbcd (pid %d)",
			  pf->path, (int)pid);
		return EEXIST;
	}

	pid = pid_read(pf->fd);
	if (pid_live(pid)) {
		sbc_error("PID file %s names pid %d, a live process: is sbcd "
			  "already running? (remove the file if not)",
			  pf->path, (int)pid);
		return EEXIST;
	}

	return pid_write(pf->fd);
}


/*
 * Write this process's PID to path (creating its directory, 0755, if
 * missing) and keep the file locked. EEXIST if another sbcd runs.
 */
int sbc_pidfile_create(struct sbc_pidfile **pfp, const char *path)
{
	struct sbc_pidfile *pf;
	int err;

	if (!pfp || !path || !*path)
		return EINVAL;

	pf = mem_zalloc(sizeof(*pf), pidfile_destructor);
	if (!pf)
		return ENOMEM;

	pf->fd = -1;

	err = str_dup(&pf->path, path);
	if (err)
		goto out;

	err = sbc_path_mkparent(path);
	if (err) {
		sbc_error("PID file %s: cannot create its directory: %m",
			  path, err);
		goto out;
	}

	err = pidfile_take(pf);
	if (err && err != EEXIST)
		sbc_error("PID file %s: %m", path, err);

 out:
	if (err) {
		/* not ours: leave the file to whoever has it */
		if (pf->fd >= 0) {
			(void)close(pf->fd);
			pf->fd = -1;
		}
		mem_deref(pf);
	}
	else {
		*pfp = pf;
	}

	return err;
}
