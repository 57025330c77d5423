/*
 * A config file's text, before libconfig reads it (internal to cfg/).
 *
 * sbcd reads the file itself, then hands the same bytes to libconfig, so
 * what was screened is exactly what is parsed. The screen catches what
 * libconfig 1.5 (Debian 12) would let through silently, see source.c.
 */

int sbc_config_fail(char *errbuf, size_t errsz, int err, const char *fmt,
		    ...);
int sbc_config_text_read(char **textp, const char *path,
			 char *errbuf, size_t errsz);
void *sbc_config_array_grow(void *v, size_t n, size_t size);
int sbc_config_text_screen(const char *text, const char *path,
			   char *errbuf, size_t errsz);
