/*
 * The PID file (control.pid_file): says which process is the running sbcd,
 * for init scripts and for a second sbcd that must not start beside it.
 */

struct sbc_pidfile;

int sbc_pidfile_create(struct sbc_pidfile **pfp, const char *path);
