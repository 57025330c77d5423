/*
 * The descriptor limit of a worker or relay process (fdlimit.c).
 * Include <re.h> before this header.
 */

int sbc_fd_limit_raise(int max);
