/*
 * TLS for the TLS and WSS listeners: OpenSSL used directly.
 *
 * Each worker builds its own SSL_CTX after it started (workers are exec'd,
 * so no OpenSSL state ever crosses a fork), from the PEM certificate chain
 * and key of the config, TLS 1.2 at least, no renegotiation (a client
 * could make the server redo handshakes at will), no session tickets (the
 * kernel sends the next connection to any worker, whose keys differ). A
 * session is driven nonblocking on the accepted fd: OpenSSL's WANT_READ
 * and WANT_WRITE become EAGAIN and a request to watch for writability.
 *
 * OpenSSL writes with write(2), which raises SIGPIPE on a connection the
 * peer reset; the transport ignores SIGPIPE for that reason (tp.c).
 */

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <re.h>
#include "shm/field.h"
#include "shm/stats.h"
#include "cfg/log.h"
#include "cfg/config.h"
#include "workers/transport.h"
#include "workers/frame.h"
#include "workers/ws.h"
#include "workers/tp_buf.h"
#include "workers/tp_priv.h"


/* Log OpenSSL's reason for a failure, and clear its error queue. */
static void tls_log_error(enum sbc_log_level level, const char *what)
{
	char reason[256] = "unknown reason";
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();

	sbc_log(level, "tls: %s: %s", what, reason);
}


static int ctx_credentials(SSL_CTX *ctx, const struct sbc_config *cfg)
{
	if (!cfg->tls_certificate || !cfg->tls_key) {
		sbc_error("tls: tls.certificate and tls.key are needed by the"
			  " tls and wss listeners");
		return EINVAL;
	}

	if (1 != SSL_CTX_use_certificate_chain_file(ctx,
						    cfg->tls_certificate)) {
		tls_log_error(SBC_LOG_ERROR, cfg->tls_certificate);
		return EINVAL;
	}

	if (1 != SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key,
					     SSL_FILETYPE_PEM)) {
		tls_log_error(SBC_LOG_ERROR, cfg->tls_key);
		return EINVAL;
	}

	if (1 != SSL_CTX_check_private_key(ctx)) {
		tls_log_error(SBC_LOG_ERROR, "the key does not match the"
			      " certificate");
		return EINVAL;
	}

	return 0;
}


/* The worker's server context. */
int tp_tls_ctx(SSL_CTX **ctxp, const struct sbc_config *cfg)
{
	SSL_CTX *ctx;
	int err = 0;

	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		tls_log_error(SBC_LOG_ERROR, "SSL_CTX_new");
		return ENOMEM;
	}

	if (1 != SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    1 != SSL_CTX_set_num_tickets(ctx, 0)) {
		tls_log_error(SBC_LOG_ERROR, "context options");
		err = EINVAL;
		goto out;
	}

	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
			    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			 SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

	err = ctx_credentials(ctx, cfg);

 out:
	if (err)
		SSL_CTX_free(ctx);
	else
		*ctxp = ctx;

	return err;
}


/* A server session on the connection's fd. */
int tp_tls_start(struct tp_conn *c)
{
	c->ssl = SSL_new(c->tp->ssl_ctx);
	if (!c->ssl) {
		tls_log_error(SBC_LOG_WARNING, "SSL_new");
		return ENOMEM;
	}

	if (1 != SSL_set_fd(c->ssl, c->fd)) {
		tls_log_error(SBC_LOG_WARNING, "SSL_set_fd");
		return ENOMEM;
	}

	SSL_set_accept_state(c->ssl);
	return 0;
}


/* What a failed OpenSSL call means for the connection. */
static int tls_result(struct tp_conn *c, int ret)
{
	const int sys = errno;
	const int e = SSL_get_error(c->ssl, ret);

	switch (e) {

	case SSL_ERROR_WANT_READ:
		return EAGAIN;

	case SSL_ERROR_WANT_WRITE:
		c->tls_want_write = true;
		return EAGAIN;

	case SSL_ERROR_ZERO_RETURN:
		return ECONNRESET;

	case SSL_ERROR_SYSCALL:
		c->tls_broken = true;
		ERR_clear_error();
		return sys ? sys : ECONNRESET;

	default:
		c->tls_broken = true;
		if (sbc_log_enabled(SBC_LOG_DEBUG))
			tls_log_error(SBC_LOG_DEBUG, "connection");
		ERR_clear_error();
		return EPROTO;
	}
}


/* 0 once the handshake is done, EAGAIN while it goes on. */
int tp_tls_handshake(struct tp_conn *c)
{
	int ret;

	ERR_clear_error();
	errno = 0;
	c->tls_want_write = false;

	ret = SSL_do_handshake(c->ssl);

	return ret == 1 ? 0 : tls_result(c, ret);
}


int tp_tls_read(struct tp_conn *c, uint8_t *p, size_t size, size_t *np)
{
	int ret;

	ERR_clear_error();
	errno = 0;
	c->tls_want_write = false;

	ret = SSL_read(c->ssl, p, size > INT_MAX ? INT_MAX : (int)size);
	if (ret <= 0)
		return tls_result(c, ret);

	*np = (size_t)ret;
	return 0;
}


/* len must never shrink between a write that returned EAGAIN and its
 * retry (OpenSSL's rule): the output queue only grows at its tail. */
int tp_tls_write(struct tp_conn *c, const uint8_t *p, size_t len,
		 size_t *np)
{
	int ret;

	ERR_clear_error();
	errno = 0;
	c->tls_want_write = false;

	ret = SSL_write(c->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
	if (ret <= 0)
		return tls_result(c, ret);

	*np = (size_t)ret;
	return 0;
}


/* Decrypted bytes wait in OpenSSL, where poll cannot see them. */
bool tp_tls_pending(const struct tp_conn *c)
{
	return c->ssl && SSL_pending(c->ssl) > 0;
}


/* Send close_notify if the session is sound (no waiting for the peer's),
 * and free the session. */
void tp_tls_close(struct tp_conn *c)
{
	if (!c->ssl)
		return;

	if (!c->tls_broken && SSL_is_init_finished(c->ssl)) {
		ERR_clear_error();
		(void)SSL_shutdown(c->ssl);
	}

	ERR_clear_error();
	SSL_free(c->ssl);
	c->ssl = NULL;
}
