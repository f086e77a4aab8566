/*
 * demux.h - what a datagram on the shared ESP/IKE UDP port is (RFC 3948 §2):
 * a NAT-keepalive (one 0xFF byte, §2.3), IKE behind the 4-byte non-ESP
 * marker (§2.2), or ESP (a non-zero SPI in the first word, §2.1).
 */
#ifndef SL_DEMUX_H
#define SL_DEMUX_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	SL_UDP_ESP = 0,   /* hand the whole datagram to sl_esp_decap */
	SL_UDP_KEEPALIVE, /* count it, nothing else */
	SL_UDP_IKE,       /* the IKE message starts at p + SL_NON_ESP_MARKER */
	SL_UDP_MALFORMED, /* a marker with nothing behind it */
} sl_udp_kind_t;

#define SL_NON_ESP_MARKER 4

sl_udp_kind_t sl_udp_demux(const uint8_t *p, size_t len);

#endif
