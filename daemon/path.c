/*
 * Creating the directory a file goes into, like `mkdir -p "$(dirname f)"`
 * with mode 0755 (before the umask), for the PID file and the control
 * socket.
 */

#include <string.h>
#include <sys/stat.h>
#include <re.h>
#include "daemon/path.h"

enum {
	PATH_MAX_LEN = 4096,
	DIR_MODE = 0755,
};


/* Create every missing directory above `path`; 0 if they all exist. */
int sbc_path_mkparent(const char *path)
{
	char dir[PATH_MAX_LEN];
	size_t len;

	if (!path || !*path)
		return EINVAL;

	len = strlen(path);
	if (len >= sizeof(dir))
		return ENAMETOOLONG;

	memcpy(dir, path, len + 1);

	/* each '/' after the first character ends one directory */
	for (size_t i = 1; i < len; i++) {

		if (dir[i] != '/')
			continue;

		dir[i] = '\0';
		if (mkdir(dir, DIR_MODE) < 0 && errno != EEXIST)
			return errno;
		dir[i] = '/';
	}

	return 0;
}
