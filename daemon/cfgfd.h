/*
 * The validated configuration text in a sealed memfd, as workers receive
 * it: at fd SBC_WFD_CONFIG when they start, and in SBC_CHAN_RELOAD.
 */

int sbc_cfgfd_create(int *fdp, const char *text);
int sbc_cfgfd_reopen(int *fdp, int fd);
