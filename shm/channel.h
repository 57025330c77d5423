/*
 * Channels between processes.
 *
 * The supervisor creates every channel before it starts a child, so a
 * worker that restarts finds them where they were:
 *
 * - one mailbox per worker: a SOCK_SEQPACKET socketpair. The worker reads
 *   one end; every worker holds the other end and writes into it. A record
 *   is one message: sends from several processes never interleave.
 * - one command channel per worker, supervisor <-> worker, of the same kind.
 *
 * A record is a fixed header and up to SBC_CHAN_DATA_MAX bytes of data;
 * RELOAD carries a file descriptor (SCM_RIGHTS) beside it. A full mailbox
 * gives EAGAIN: the sender never blocks, it counts the loss.
 */

struct sbc_addr;

enum sbc_chan_kind {
	SBC_CHAN_SIP = 1,   /* worker -> Call-ID owner: a SIP message it read
			     * (data), from `peer` on `listener`/`conn` */
	SBC_CHAN_SEND,      /* any -> connection owner: send data on `conn` */
	SBC_CHAN_HOLD,      /* Call-ID owner -> connection owner: `conn`
			     * carries the binding "aor\0instance" (data)
			     * until `until` (ms, sbc_now_ms) */
	SBC_CHAN_READY,     /* worker -> supervisor: listeners bound */
	SBC_CHAN_RELOAD,    /* supervisor -> worker: a new validated config,
			     * its text in the passed memfd */
	SBC_CHAN_REOPEN,    /* supervisor -> worker: reopen the CDR file
			     * (a reload that changed nothing, log rotation) */
	SBC_CHAN_DIALOG_END, /* supervisor -> Call-ID owner: end the dialog
			     * of the Call-ID in data (operator) */
	SBC_CHAN_UNSENT,    /* connection owner -> SEND's sender: `conn` is
			     * gone, the request whose Via branch is in data
			     * was not sent */
};

struct sbc_chan_hdr {
	uint32_t magic;        /* SBC_CHAN_MAGIC, set by sbc_chan_send */
	uint16_t kind;         /* enum sbc_chan_kind */
	uint16_t listener;     /* index in the config's listeners */
	uint32_t len;          /* bytes of data after the header */
	uint32_t from;         /* sending worker's index */
	uint64_t conn;         /* connection id, 0 for none (UDP) */
	uint64_t until;
	struct sbc_addr peer;  /* the remote address of the message */
	uint8_t  transport;    /* enum sbc_transport */
	uint8_t  pad[7];
};

enum {
	SBC_CHAN_MAGIC    = 0x5342434d,   /* "SBCM" */
	SBC_CHAN_DATA_MAX = 65536,
	SBC_CHAN_BUFSIZE  = 4 * 1024 * 1024,   /* asked for, per socket */
};

int sbc_chan_pair(int fds[2]);
int sbc_chan_send(int fd, struct sbc_chan_hdr *hdr, const void *data,
		  size_t len, int pass_fd);
int sbc_chan_recv(int fd, struct sbc_chan_hdr *hdr, void *buf, size_t size,
		  int *fdp);
