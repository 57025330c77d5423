/*
 * Aligned text tables (see texttab.h).
 *
 * Every cell is kept, NUL-terminated, one after the other in one mbuf, and
 * each column's width is updated as cells arrive, so printing is a single
 * pass. A cell is formatted first, then escaped, so whatever a %s brings
 * in from the network is shown as \xNN and cannot move the columns.
 */

#include <string.h>
#include <re.h>
#include "cfg/json.h"
#include "daemon/texttab.h"

enum {
	COLS_MAX = 32,
	CELL_MAX = 1024,   /* bytes of one formatted cell, before escaping */
	GAP = 2,           /* spaces between columns */
};

struct sbc_texttab {
	struct mbuf *cells;
	const char *const *heads;
	unsigned cols;
	unsigned n;                 /* cells added, headings not counted */
	size_t width[COLS_MAX];
};


static void texttab_destructor(void *arg)
{
	struct sbc_texttab *tab = arg;

	mem_deref(tab->cells);
}


/* A table with `cols` columns headed by heads[], which must outlive it. */
int sbc_texttab_alloc(struct sbc_texttab **tabp, const char *const *heads,
		      unsigned cols)
{
	struct sbc_texttab *tab;

	if (!tabp || !heads || !cols || cols > COLS_MAX)
		return EINVAL;

	tab = mem_zalloc(sizeof(*tab), texttab_destructor);
	if (!tab)
		return ENOMEM;

	tab->cells = mbuf_alloc(4096);
	if (!tab->cells) {
		mem_deref(tab);
		return ENOMEM;
	}

	tab->heads = heads;
	tab->cols = cols;

	for (unsigned i = 0; i < cols; i++)
		tab->width[i] = strlen(heads[i]);

	*tabp = tab;

	return 0;
}


/* Add the next cell; a cell longer than CELL_MAX is cut. */
int sbc_texttab_cell(struct sbc_texttab *tab, const char *fmt, ...)
{
	char cell[CELL_MAX];
	size_t col, start;
	va_list ap;
	int err;

	if (!tab || !fmt)
		return EINVAL;

	va_start(ap, fmt);
	err = re_vsnprintf(cell, sizeof(cell), fmt, ap) < 0 ? ENOMEM : 0;
	va_end(ap);
	if (err)
		return err;

	start = tab->cells->pos;
	err = mbuf_printf(tab->cells, "%H", sbc_text_safe, cell);
	err |= mbuf_write_u8(tab->cells, 0);
	if (err)
		return err;

	col = tab->n++ % tab->cols;
	tab->width[col] = max(tab->width[col],
			      tab->cells->pos - start - 1);

	return 0;
}


unsigned sbc_texttab_rows(const struct sbc_texttab *tab)
{
	return tab ? tab->n / tab->cols : 0;
}


static int row_cell(struct re_printf *pf, const struct sbc_texttab *tab,
		    unsigned col, const char *s)
{
	int err = re_hprintf(pf, "%s", s);

	if (col + 1 == tab->cols)
		return err | re_hprintf(pf, "\n");

	for (size_t i = strlen(s); i < tab->width[col] + GAP && !err; i++)
		err = re_hprintf(pf, " ");

	return err;
}


/* libre print handler: the headings and every complete row. */
int sbc_texttab_print(struct re_printf *pf, void *arg)
{
	const struct sbc_texttab *tab = arg;
	const char *p;
	unsigned i, cells;
	int err = 0;

	if (!tab)
		return EINVAL;

	for (i = 0; i < tab->cols && !err; i++)
		err = row_cell(pf, tab, i, tab->heads[i]);

	p = (const char *)tab->cells->buf;
	cells = sbc_texttab_rows(tab) * tab->cols;

	for (i = 0; i < cells && !err; i++) {
		err = row_cell(pf, tab, i % tab->cols, p);
		p += strlen(p) + 1;
	}

	return err;
}
