/*
 * The backends, routes and status-code lists of a config file (internal
 * to cfg/, see backends.c). Include <libconfig.h> before this header.
 */

int  sbc_config_backends(struct sbc_config *cfg, const config_setting_t *s,
			 const char *path, char *errbuf, size_t errsz);
int  sbc_config_backends_default(struct sbc_config *cfg, const char *uri,
				 const char *path, char *errbuf, size_t errsz);
int  sbc_config_routes(struct sbc_config *cfg, const config_setting_t *s,
		       const char *path, char *errbuf, size_t errsz);
int  sbc_config_routes_resolve(struct sbc_config *cfg, const char *path,
			       char *errbuf, size_t errsz);
int  sbc_config_codes(struct sbc_codes *codes, const config_setting_t *s,
		      const char *name, const char *path, char *errbuf,
		      size_t errsz);
void sbc_codes_add(struct sbc_codes *codes, uint16_t scode);
void sbc_config_backends_free(struct sbc_config *cfg);
