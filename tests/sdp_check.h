/*
 * What the two SDP unit tests (test_sdp.c, test_sdp_webrtc.c) both need:
 * the corpus in tests/sdp/ (its directory in SBC_SDP_CORPUS), and checks
 * on parsed values and on lines of a rewritten SDP. A failed check fails
 * the running cmocka test. Include <re.h> and "rtp/sdp.h" before this
 * header.
 */

/* The corpus: softphones' and PBXes' SDPs, then browsers' (which change
 * profile when rewritten for a plain party). */
extern const char *const sdp_plain_files[];
extern const size_t sdp_plain_count;
extern const char *const sdp_browser_files[];
extern const size_t sdp_browser_count;

/* Read a corpus file into a buffer the caller frees; text points in it. */
char *sdp_corpus_read(const char *name, struct pl *text);

int  sdp_parse_str(const char *s, struct sbc_sdp *sdp);
void sdp_assert_pl(const struct pl *pl, const char *s);
void sdp_assert_sa(const struct sa *sa, const char *addr, uint16_t port);

/* Is line "<type>=..."? Is it "a=<name>" or "a=<name>:<value>"? */
bool sdp_is_type(const struct pl *line, char type);
bool sdp_is_attr(const struct pl *line, const char *name);
