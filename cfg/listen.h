/*
 * Listener and backend strings (internal to cfg/).
 */

int sbc_listen_parse(struct sbc_listener_conf *l, enum sbc_side side,
		     const char *s);
int sbc_backend_parse(struct sbc_backend_conf *b, const char *s);
bool sbc_listen_stream(enum sbc_transport tp);
