/*
 * Bounded fields of shared records.
 *
 * Strings in the shared tables live in fixed arrays, NUL-terminated. A value
 * that does not fit is refused with EOVERFLOW, never cut short: a truncated
 * Call-ID or Contact would silently address the wrong call or user.
 */

struct pl;
struct sa;

enum sbc_transport {
	SBC_TP_NONE = 0,
	SBC_TP_UDP,
	SBC_TP_TCP,
	SBC_TP_TLS,
	SBC_TP_WS,
	SBC_TP_WSS,
};

/* A transport address as stored in shared memory: no pointers, no padding
 * that depends on the C library. */
struct sbc_addr {
	uint8_t  family;   /* AF_INET, AF_INET6, or 0 when unset */
	uint8_t  pad;
	uint16_t port;     /* host byte order */
	uint8_t  ip[16];   /* IPv4 in the first 4 bytes */
};

int  sbc_field_set(char *field, size_t size, const struct pl *val);
int  sbc_field_set_str(char *field, size_t size, const char *val);
bool sbc_field_eq(const char *field, size_t size, const struct pl *val);
bool sbc_field_valid(const char *field, size_t size);

int  sbc_addr_set(struct sbc_addr *addr, const struct sa *sa);
int  sbc_addr_get(const struct sbc_addr *addr, struct sa *sa);

#define SBC_FIELD_SET(field, val) sbc_field_set((field), sizeof(field), (val))
#define SBC_FIELD_SET_STR(field, val) \
	sbc_field_set_str((field), sizeof(field), (val))
