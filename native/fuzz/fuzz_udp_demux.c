/*
 * fuzz_udp_demux.c - a datagram as it arrives on UDP 4500: the RFC 3948
 * demux (keepalive, non-ESP marker, ESP), then ESP decapsulation against an
 * SADB holding an inbound SA of every transform (SPIs 0x1000..0x1007, the
 * seeds carry them).  Unauthenticated bytes must be dropped with a reason;
 * nothing may read outside the datagram (ASan) or overflow (UBSan).
 */
#include "demux.h"
#include "fuzz_sa.h"

static sl_sadb_t db;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	sl_sadb_init(&db);
	for (size_t i = 0; i < FUZZ_NALGS; i++)
		if (sl_sadb_add(&db, fuzz_sa_new(i, SL_DIR_IN, i & 1, 1024)) != 0)
			abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Decryption works in place: a private, exactly sized copy (ASan sees overruns). */
	uint8_t *p = malloc(size ? size : 1);
	memcpy(p, data, size);
	switch (sl_udp_demux(p, size)) {
	case SL_UDP_KEEPALIVE:
		if (size != 1)
			abort();
		break;
	case SL_UDP_IKE:
		if (size <= SL_NON_ESP_MARKER)
			abort();
		break;
	case SL_UDP_MALFORMED:
		break;
	case SL_UDP_ESP: {
		sl_endpoint_t from;
		sl_endpoint_parse(&from, "192.0.2.1", 4500);
		uint8_t *inner = NULL;
		size_t ilen = 0;
		sl_drop_t why = sl_esp_decap(&fuzz_w, &db, SL_ENCAP_UDP, p, size, &from, &inner, &ilen);
		/* Without the keys nothing can authenticate. */
		if (why == SL_OK || why >= SL_DROP__COUNT)
			abort();
		break;
	}
	}
	free(p);
	return 0;
}
