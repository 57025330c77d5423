/*
 * The `rtp` group of a config file: the media relay (internal to cfg/,
 * see rtp.c). Include <libconfig.h> before this header.
 */

int  sbc_config_rtp_defaults(struct sbc_rtp_conf *rtp);
int  sbc_config_addr(struct sa *sa, const config_setting_t *s,
		     const char *name, bool required, const char *path,
		     char *errbuf, size_t errsz);
int  sbc_config_rtp_io(struct sbc_rtp_conf *rtp, const config_setting_t *s,
		       const char *name, const char *path, char *errbuf,
		       size_t errsz);
int  sbc_config_rtp_check(const struct sbc_rtp_conf *rtp, const char *path,
			  char *errbuf, size_t errsz);
