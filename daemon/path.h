/*
 * Files the supervisor creates: the PID file and the control socket live
 * in directories that may not exist yet (/run/sbcd after a reboot).
 */

int sbc_path_mkparent(const char *path);
