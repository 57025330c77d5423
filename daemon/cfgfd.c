/*
 * Sealed config memfds.
 *
 * The supervisor writes the exact text it validated (empty for the
 * built-in defaults) and seals it against writing, growing and shrinking,
 * and seals the seals: whatever a worker reads there is what the
 * supervisor checked, even if the file on disk has changed since.
 *
 * Every worker gets its own read-only open file description of the memfd
 * (sbc_cfgfd_reopen, through /proc/self/fd), so its file offset is its own:
 * workers sharing one description would move each other's offset while
 * reading.
 */

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <re.h>
#include "daemon/cfgfd.h"

enum {
	SEALS = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL,
	PROC_PATH_SIZE = 32,
};


static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		len -= (size_t)n;
	}

	return 0;
}


/* A sealed memfd holding text (NULL: empty), offset 0, close-on-exec. */
int sbc_cfgfd_create(int *fdp, const char *text)
{
	int fd, err;

	if (!fdp)
		return EINVAL;

	fd = memfd_create("sbcd-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return errno;

	err = write_all(fd, text ? text : "", text ? strlen(text) : 0);
	if (err)
		goto out;

	if (fcntl(fd, F_ADD_SEALS, SEALS) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		err = errno;

 out:
	if (err)
		(void)close(fd);
	else
		*fdp = fd;

	return err;
}


/* A new read-only, close-on-exec open file description of memfd fd. */
int sbc_cfgfd_reopen(int *fdp, int fd)
{
	char path[PROC_PATH_SIZE];
	int nfd;

	if (!fdp || fd < 0)
		return EINVAL;

	if (re_snprintf(path, sizeof(path), "/proc/self/fd/%d", fd) < 0)
		return EINVAL;

	nfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nfd < 0)
		return errno;

	*fdp = nfd;

	return 0;
}
