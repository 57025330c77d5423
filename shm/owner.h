/*
 * Call-ID affinity (DESIGN.md section 1): the one worker that owns every
 * message, transaction and dialog of a Call-ID. The supervisor uses the
 * same rule to pass an operator's command to the right worker.
 *
 * Include <re.h> and <xxhash.h> before this header.
 */

static inline uint32_t sbc_callid_owner(const struct pl *callid,
					uint32_t workers)
{
	if (workers < 2)
		return 0;

	return (uint32_t)(XXH3_64bits(callid->p, callid->l) % workers);
}
