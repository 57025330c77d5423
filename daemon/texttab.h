/*
 * Aligned text tables for sbcctl's answers.
 *
 * Cells are added row by row, left to right, each formatted with libre's
 * printf and made terminal-safe (sbc_text_safe); the table is printed with
 * every column as wide as its widest cell. Include <re.h> before this.
 */

struct sbc_texttab;

int  sbc_texttab_alloc(struct sbc_texttab **tabp, const char *const *heads,
		       unsigned cols);
int  sbc_texttab_cell(struct sbc_texttab *tab, const char *fmt, ...);
int  sbc_texttab_print(struct re_printf *pf, void *tab);
unsigned sbc_texttab_rows(const struct sbc_texttab *tab);
