/*
 * Escaping strings for JSON and for a terminal (see json.h).
 *
 * Both are libre print handlers, used with %H: `mbuf_printf(mb, "%H",
 * sbc_json_str, s)`. A NULL string prints as JSON null, or "-" in text.
 */

#include <string.h>
#include <re.h>
#include "cfg/json.h"


static bool cont(uint8_t c)
{
	return (c & 0xc0) == 0x80;
}


/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if it is
 * not one: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];

	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && cont(p[1]) ? 2 : 0;

	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || !cont(p[1]) || !cont(p[2]))
			return 0;
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
			return 0;
		return 3;
	}

	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || !cont(p[1]) || !cont(p[2]) || !cont(p[3]))
			return 0;
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
			return 0;
		return 4;
	}

	return 0;
}


static int json_char(struct re_printf *pf, uint8_t c)
{
	switch (c) {

	case '"':  return re_hprintf(pf, "\\\"");
	case '\\': return re_hprintf(pf, "\\\\");
	case '\b': return re_hprintf(pf, "\\b");
	case '\f': return re_hprintf(pf, "\\f");
	case '\n': return re_hprintf(pf, "\\n");
	case '\r': return re_hprintf(pf, "\\r");
	case '\t': return re_hprintf(pf, "\\t");
	default:
		if (c < 0x20 || c == 0x7f)
			return re_hprintf(pf, "\\u%04x", c);
		return pf->vph((const char *)&c, 1, pf->arg);
	}
}


/* A JSON string literal, quotes included. */
int sbc_json_str(struct re_printf *pf, void *str)
{
	const uint8_t *p = str;
	size_t n;
	int err;

	if (!p)
		return re_hprintf(pf, "null");

	n = strlen(str);

	err = re_hprintf(pf, "\"");

	while (n && !err) {
		size_t l;

		if (*p < 0x80) {
			err = json_char(pf, *p);
			p++;
			n--;
			continue;
		}

		l = utf8_len(p, n);
		if (l)
			err = pf->vph((const char *)p, l, pf->arg);
		else
			err = re_hprintf(pf, "\\ufffd");

		p += l ? l : 1;
		n -= l ? l : 1;
	}

	return err | re_hprintf(pf, "\"");
}


/* Printed as is in text; a backslash is not, so that what reads \x1b is
 * always an escape and never a peer's four characters. */
static bool printable(uint8_t c)
{
	return c >= 0x20 && c < 0x7f && c != '\\';
}


/* The string with every byte but printable ASCII (and the backslash)
 * written as \xNN. */
int sbc_text_safe(struct re_printf *pf, void *str)
{
	const uint8_t *p = str;
	int err = 0;

	if (!p)
		return re_hprintf(pf, "-");

	for (; *p && !err; p++) {
		if (printable(*p))
			err = pf->vph((const char *)p, 1, pf->arg);
		else
			err = re_hprintf(pf, "\\x%02x", *p);
	}

	return err;
}
