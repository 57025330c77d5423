/*
 * What the cmocka unit tests share (unit.c). Include <re.h> and
 * <cmocka.h> before this header.
 */

/* A test's teardown: no libre memory block may be left. libre built
 * without MEM_DEBUG cannot tell (ENOSYS): LeakSanitizer then covers leaks
 * in the sanitizer build. */
int unit_teardown(void **state);
