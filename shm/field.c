/*
 * Bounded string fields and addresses of shared records (see field.h).
 */

#include <string.h>
#include <re.h>
#include "shm/field.h"


/* Copy val into a fixed field; EOVERFLOW if it and its NUL do not fit. */
int sbc_field_set(char *field, size_t size, const struct pl *val)
{
	if (!field || !size || !val)
		return EINVAL;

	if (val->l >= size)
		return EOVERFLOW;

	if (val->l && memchr(val->p, '\0', val->l))
		return EINVAL;

	if (val->l)
		memcpy(field, val->p, val->l);
	memset(field + val->l, 0, size - val->l);

	return 0;
}


int sbc_field_set_str(char *field, size_t size, const char *val)
{
	struct pl pl;

	if (!val)
		return EINVAL;

	pl_set_str(&pl, val);

	return sbc_field_set(field, size, &pl);
}


/* Does the field hold exactly val? Reads no further than the field. */
bool sbc_field_eq(const char *field, size_t size, const struct pl *val)
{
	return val->l < size && field[val->l] == '\0' &&
		(!val->l || !memcmp(field, val->p, val->l));
}


/* A field read from shared memory is trusted only if it ends in its array. */
bool sbc_field_valid(const char *field, size_t size)
{
	return memchr(field, '\0', size) != NULL;
}


int sbc_addr_set(struct sbc_addr *addr, const struct sa *sa)
{
	if (!addr || !sa)
		return EINVAL;

	memset(addr, 0, sizeof(*addr));

	switch (sa_af(sa)) {

	case AF_INET:
		memcpy(addr->ip, &sa->u.in.sin_addr, 4);
		break;

	case AF_INET6:
		memcpy(addr->ip, &sa->u.in6.sin6_addr, 16);
		break;

	default:
		return EAFNOSUPPORT;
	}

	addr->family = (uint8_t)sa_af(sa);
	addr->port = sa_port(sa);

	return 0;
}


int sbc_addr_get(const struct sbc_addr *addr, struct sa *sa)
{
	if (!addr || !sa)
		return EINVAL;

	sa_init(sa, AF_UNSPEC);

	switch (addr->family) {

	case AF_INET:
		sa_init(sa, AF_INET);
		memcpy(&sa->u.in.sin_addr, addr->ip, 4);
		break;

	case AF_INET6:
		sa_init(sa, AF_INET6);
		memcpy(&sa->u.in6.sin6_addr, addr->ip, 16);
		break;

	default:
		return EAFNOSUPPORT;
	}

	sa_set_port(sa, addr->port);

	return 0;
}
