/*
 * The supervisor: the process that owns the configuration, the shared
 * memory segment, the workers and the control socket.
 *
 * Include <re.h>, "cfg/log.h", "shm/field.h" and "cfg/config.h" before
 * this header.
 */

int sbc_supervisor_run(struct sbc_config *cfg);
