/*
 * Listener and backend strings.
 *
 * A listener is written `transport:address:port`, the address an IP
 * literal (IPv6 in brackets): "udp:127.0.0.1:5060", "wss:[::1]:8443". A
 * backend is `sip:address[:port]`, port 5060 by default. Host names are
 * refused: a name resolved once at start silently goes stale, and a
 * resolver in the SIP path is a way to stall it; backends by name come
 * with DNS support, not before.
 */

#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "cfg/log.h"
#include "shm/field.h"
#include "cfg/config.h"
#include "cfg/listen.h"

enum {
	BACKEND_PORT_DEFAULT = 5060,
};

static const char *const transports[] = {
	[SBC_TP_UDP] = "udp",
	[SBC_TP_TCP] = "tcp",
	[SBC_TP_TLS] = "tls",
	[SBC_TP_WS]  = "ws",
	[SBC_TP_WSS] = "wss",
};


const char *sbc_transport_name(enum sbc_transport tp)
{
	if ((size_t)tp >= ARRAY_SIZE(transports) || !transports[tp])
		return "?";

	return transports[tp];
}


const char *sbc_side_name(enum sbc_side side)
{
	return side == SBC_SIDE_CORE ? "core" : "access";
}


/* TCP, TLS, WS and WSS all listen on a TCP socket. */
bool sbc_listen_stream(enum sbc_transport tp)
{
	return tp != SBC_TP_UDP;
}


static int transport_parse(enum sbc_transport *tpp, const struct pl *pl)
{
	for (size_t i = 1; i < ARRAY_SIZE(transports); i++) {
		if (!pl_strcasecmp(pl, transports[i])) {
			*tpp = (enum sbc_transport)i;
			return 0;
		}
	}

	return EINVAL;
}


static bool digits(const char *p, size_t n)
{
	if (!n || n > 5)
		return false;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
	}

	return true;
}


/* "address:port" or "[v6]:port"; the port may be left out only when
 * dport is not 0. The address must be an IP literal. */
static int hostport_parse(struct sa *sa, const char *s, uint16_t dport)
{
	const char *end = s + strlen(s), *colon;
	struct pl host;
	uint32_t port = dport;

	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb)
			return EINVAL;
		host.p = s + 1;
		host.l = (size_t)(rb - host.p);
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (!colon && rb + 1 != end)
			return EINVAL;
	}
	else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			return EINVAL;     /* IPv6 needs its brackets */
		host.p = s;
		host.l = (size_t)((colon ? colon : end) - s);
	}

	if (colon) {
		if (!digits(colon + 1, (size_t)(end - colon - 1)))
			return EINVAL;
		port = (uint32_t)atoi(colon + 1);
	}

	if (!host.l || !port || port > 65535)
		return EINVAL;

	return sa_set(sa, &host, (uint16_t)port);
}


int sbc_listen_parse(struct sbc_listener_conf *l, enum sbc_side side,
		     const char *s)
{
	const char *colon = strchr(s, ':');
	int err;

	if (!colon)
		return EINVAL;

	err = transport_parse(&l->transport,
			      &(struct pl){s, (size_t)(colon - s)});
	if (err)
		return err;

	/* a listener names its port: no default */
	err = hostport_parse(&l->addr, colon + 1, 0);
	if (err)
		return err;

	l->side = side;

	return str_dup(&l->name, s);
}


int sbc_backend_parse(struct sbc_backend_conf *b, const char *s)
{
	int err;

	if (strncmp(s, "sip:", 4) || strpbrk(s + 4, ";@?"))
		return EINVAL;

	err = hostport_parse(&b->addr, s + 4, BACKEND_PORT_DEFAULT);
	if (err)
		return err;

	return str_dup(&b->uri, s);
}
