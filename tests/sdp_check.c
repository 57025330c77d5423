/*
 * The SDP unit tests' shared helpers (sdp_check.h).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "rtp/sdp.h"
#include "tests/sdp_check.h"

enum {
	FILE_MAX = 65536,
};

const char *const sdp_plain_files[] = {
	"freeswitch_offer.sdp", "asterisk_answer.sdp",
	"linphone_ice_offer.sdp", "baresip_offer.sdp", "polycom_offer.sdp",
	"yealink_answer.sdp", "cisco_offer.sdp", "hold_sendonly.sdp",
	"hold_zero_addr.sdp", "inactive.sdp", "video_audio.sdp",
	"declined_video.sdp", "ipv6.sdp", "rtcp_attr.sdp",
	"session_c_only.sdp", "bare_lf.sdp", "t38_offer.sdp",
	"sdes_offer.sdp",
};
const size_t sdp_plain_count = ARRAY_SIZE(sdp_plain_files);

const char *const sdp_browser_files[] = {
	"chrome_offer.sdp", "firefox_offer.sdp", "chrome_audio_offer.sdp",
	"chrome_av_offer.sdp", "chrome_maxbundle_offer.sdp",
	"chrome_answer.sdp", "firefox_answer.sdp", "chrome_opus_offer.sdp",
	"chrome_datachannel_offer.sdp",
};
const size_t sdp_browser_count = ARRAY_SIZE(sdp_browser_files);


char *sdp_corpus_read(const char *name, struct pl *text)
{
	const char *dir = getenv("SBC_SDP_CORPUS");
	char path[1024];
	char *buf;
	FILE *f;
	size_t n;

	assert_non_null(dir);
	re_snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);

	buf = malloc(FILE_MAX);
	assert_non_null(buf);
	n = fread(buf, 1, FILE_MAX, f);
	fclose(f);
	assert_true(n > 0 && n < FILE_MAX);

	text->p = buf;
	text->l = n;

	return buf;
}


int sdp_parse_str(const char *s, struct sbc_sdp *sdp)
{
	struct pl text;

	pl_set_str(&text, s);

	return sbc_sdp_parse(sdp, &text);
}


void sdp_assert_pl(const struct pl *pl, const char *s)
{
	if (pl_strcmp(pl, s))
		fail_msg("\"%.*s\" != \"%s\"", (int)pl->l, pl->p, s);
}


void sdp_assert_sa(const struct sa *sa, const char *addr, uint16_t port)
{
	struct sa exp;

	assert_int_equal(sa_set_str(&exp, addr, port), 0);
	assert_true(sa_cmp(sa, &exp, SA_ALL));
}


bool sdp_is_type(const struct pl *line, char type)
{
	return line->l >= 2 && line->p[0] == type && line->p[1] == '=';
}


bool sdp_is_attr(const struct pl *line, const char *name)
{
	size_t n = strlen(name);

	if (line->l < n + 2 || !sdp_is_type(line, 'a'))
		return false;
	if (memcmp(line->p + 2, name, n))
		return false;

	return line->l == n + 2 || line->p[n + 2] == ':';
}
