/*
 * Reading and screening a config file's text.
 *
 * libconfig 1.5, the version Debian 12 ships, reads an integer literal with
 * atoi(): one that does not fit in 32 bits wraps without a word
 * (`max = 4294967297;` reads as 1), so a range check after parsing cannot
 * see it. The screen below walks the text the way libconfig's scanner
 * tokenises it (comments, strings, names, numbers) only far enough to find
 * integer literals, and refuses any that libconfig would wrap. It is not a
 * parser: libconfig still parses, and reports every syntax error.
 *
 * The screen also refuses `@include`: sbcd's configuration is one file, and
 * every error names that file.
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "cfg/source.h"

enum {
	TEXT_CHUNK = 4096,
	TEXT_MAX = 1 << 20,   /* a config file is a few kB; refuse a mistake */
};


/* Write an error message for the caller, return err. */
int sbc_config_fail(char *errbuf, size_t errsz, int err, const char *fmt,
		    ...)
{
	va_list ap;

	if (!errbuf || !errsz)
		return err;

	va_start(ap, fmt);
	if (re_vsnprintf(errbuf, errsz, fmt, ap) < 0)
		errbuf[0] = '\0';
	va_end(ap);

	return err;
}


/* Read the whole file into a NUL-terminated string (mem_deref it). */
int sbc_config_text_read(char **textp, const char *path,
			 char *errbuf, size_t errsz)
{
	char *text;
	size_t size = TEXT_CHUNK, len = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		return sbc_config_fail(errbuf, errsz, err,
				       "%s: cannot open: %m", path, err);
	}

	text = mem_alloc(size, NULL);
	if (!text) {
		err = ENOMEM;
		goto out;
	}

	for (;;) {
		ssize_t n;

		if (len + 1 == size) {
			char *bigger;

			if (size >= TEXT_MAX) {
				err = sbc_config_fail(errbuf, errsz, EFBIG,
					"%s: larger than %u bytes", path,
					(unsigned)TEXT_MAX);
				goto out;
			}

			bigger = mem_realloc(text, size * 2);
			if (!bigger) {
				err = ENOMEM;
				goto out;
			}
			text = bigger;
			size *= 2;
		}

		n = read(fd, text + len, size - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			sbc_config_fail(errbuf, errsz, err,
					"%s: cannot read: %m", path, err);
			goto out;
		}
		if (n == 0)
			break;

		len += (size_t)n;
	}

	text[len] = '\0';

 out:
	/* read-only descriptor: a failing close loses nothing */
	(void)close(fd);

	if (err)
		mem_deref(text);
	else
		*textp = text;

	return err;
}


static bool name_char(char c)
{
	return c && (isalnum((unsigned char)c) || strchr("-_*", c));
}


static bool number_start(const char *p)
{
	if (*p == '-' || *p == '+')
		++p;

	return isdigit((unsigned char)*p) ||
		(*p == '.' && isdigit((unsigned char)p[1]));
}


/*
 * Check the number at *pp, advance past it. Decimal literals must fit an
 * int, hex ones 32 bits, and those with an L suffix 64 bits; floats pass.
 */
static int screen_number(const char **pp, const char *path, unsigned line,
			 char *errbuf, size_t errsz)
{
	const char *start = *pp, *p = *pp, *end;
	bool hex, wide;
	long long v;

	if (*p == '-' || *p == '+')
		++p;

	hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	if (hex)
		end = p + 2 + strspn(p + 2, "0123456789abcdefABCDEF");
	else
		end = p + strspn(p, "0123456789");

	if (!hex && (*end == '.' || *end == 'e' || *end == 'E')) {
		*pp = end + strspn(end, "0123456789.eE+-");
		return 0;
	}

	wide = *end == 'L';
	*pp = end + strspn(end, "L");

	errno = 0;
	v = strtoll(start, NULL, hex ? 16 : 10);

	if (errno == ERANGE ||
	    (!wide && hex && (v < 0 || v > (long long)UINT32_MAX)) ||
	    (!wide && !hex && (v < INT32_MIN || v > INT32_MAX))) {
		return sbc_config_fail(errbuf, errsz, EINVAL,
				       "%s:%u: integer %b is out of range",
				       path, line, start, (size_t)(end - start));
	}

	return 0;
}


/* Refuse integer literals libconfig 1.5 would wrap, and @include. */
int sbc_config_text_screen(const char *text, const char *path,
			   char *errbuf, size_t errsz)
{
	const char *p = text;
	unsigned line = 1;
	int err;

	while (*p) {

		if (*p == '\n') {
			++line;
			++p;
		}
		else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			p += strcspn(p, "\n");
		}
		else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); ++p)
				line += *p == '\n';
			p += *p ? 2 : 0;
		}
		else if (*p == '"') {
			for (++p; *p && *p != '"'; ++p) {
				if (*p == '\\' && p[1])
					++p;
				line += *p == '\n';
			}
			p += *p ? 1 : 0;
		}
		else if (*p == '@') {
			return sbc_config_fail(errbuf, errsz, EINVAL,
				"%s:%u: @include is not supported: the "
				"configuration is one file", path, line);
		}
		else if (isalpha((unsigned char)*p) || *p == '*') {
			while (name_char(*p))
				++p;
		}
		else if (number_start(p)) {
			err = screen_number(&p, path, line, errbuf, errsz);
			if (err)
				return err;
		}
		else {
			++p;
		}
	}

	return 0;
}


/* Room for n elements of size in v (NULL: none yet); libre's
 * mem_realloc() does not allocate from NULL. */
void *sbc_config_array_grow(void *v, size_t n, size_t size)
{
	return v ? mem_realloc(v, n * size) : mem_alloc(n * size, NULL);
}
