/*
 * The backend slots of a configuration (see backends.c).
 * Include "shm/shm.h" and "cfg/config.h" before this header.
 */

int sbc_backends_assign(struct sbc_shm *shm, const struct sbc_config *cfg);
