/* demux.c - classifying datagrams on UDP 4500 (RFC 3948 §2). */
#include "demux.h"

sl_udp_kind_t sl_udp_demux(const uint8_t *p, size_t len)
{
	if (len == 1 && p[0] == 0xff)
		return SL_UDP_KEEPALIVE;
	/* A zero first word can never be ESP: SPI 0 is reserved (RFC 4303 §2.1). */
	if (len >= SL_NON_ESP_MARKER && p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0)
		return len > SL_NON_ESP_MARKER ? SL_UDP_IKE : SL_UDP_MALFORMED;
	/* Anything else, however short, is ESP: sl_esp_decap checks the length. */
	return SL_UDP_ESP;
}
