/*
 * Printing strings that may come from the network, for sbcctl's answers and
 * the CDRs.
 *
 * A user agent or a Contact is whatever a peer sent: in JSON it is escaped
 * (and bytes that are not UTF-8 become U+FFFD, so the document always
 * parses); in text, anything but printable ASCII is shown as \xNN (the
 * backslash too, so an escape is never ambiguous), and no peer can send
 * escape sequences to an operator's terminal.
 *
 * Include <re.h> before this header.
 */

int sbc_json_str(struct re_printf *pf, void *str);
int sbc_text_safe(struct re_printf *pf, void *str);
