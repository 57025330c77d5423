/*
 * The unit tests' shared teardown (unit.h).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <re.h>
#include "tests/unit.h"


int unit_teardown(void **state)
{
	struct memstat st;

	(void)state;

	if (0 == mem_get_stat(&st))
		assert_int_equal(st.blocks_cur, 0);

	return 0;
}
