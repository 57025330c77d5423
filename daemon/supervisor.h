/*
 * The supervisor: the process that owns the configuration, the shared
 * memory segment and (from the SIP core on) the children.
 *
 * Include <re.h>, "cfg/log.h" and "cfg/config.h" before this header.
 */

int sbc_supervisor_run(const struct sbc_config *cfg);
