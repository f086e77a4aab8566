/*
 * unbcj-zstd: stdin, a zstd stream of an ARM64-BCJ-filtered archive
 * (scripts/image/bcj-arm64.mjs, compressor "deferred-zstd" of
 * scripts/image/common.sh), to stdout, the archive itself.
 *
 * It runs on the board at boot, before Node exists
 * (/usr/lib/sitelink/unpack-deferred): zstd's decoder plus this filter unpack
 * libnode about five times faster than xz's under emulation, for about 15%
 * more bytes. One pass, fixed buffers: the decoder writes into `out`, every
 * whole 4-byte word is unfiltered and written, a 1-3 byte remainder is carried
 * to the next round (filter positions count from the stream's start).
 *
 * Exit status 0 only for a complete, valid stream; anything else (a truncated
 * or corrupt stream, a window over WINDOW_LOG_MAX, a read or write error) says
 * what on stderr and exits 1, so unpack-deferred reports the part as not
 * unpacked.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

/* The encoder's window (common.sh: wlog=24, 16 MiB): the most the board has to
 * hold for it, whatever a stream asks for. */
#define WINDOW_LOG_MAX 24

static unsigned char in_buf[1 << 17];
static unsigned char out_buf[1 << 20];

static uint32_t load32le(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store32le(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* The inverse of bcj-arm64.mjs over n bytes (n a multiple of 4) that start at
 * stream offset pos: BL's and ADRP's absolute targets become relative again. */
static void unfilter(unsigned char *buf, size_t n, uint32_t pos)
{
	for (size_t i = 0; i + 4 <= n; i += 4) {
		uint32_t pc = pos + (uint32_t)i;
		uint32_t insn = load32le(buf + i);

		if ((insn >> 26) == 0x25) {
			insn = 0x94000000u | ((insn - (pc >> 2)) & 0x03ffffffu);
		} else if ((insn & 0x9f000000u) == 0x90000000u) {
			uint32_t src = ((insn >> 29) & 3u) | ((insn >> 3) & 0x001ffffcu);
			uint32_t dest;

			if ((src + 0x00020000u) & 0x001c0000u)
				continue;
			dest = src - (pc >> 12);
			insn &= 0x9000001fu;
			insn |= (dest & 3u) << 29;
			insn |= (dest & 0x0003fffcu) << 3;
			insn |= (0u - (dest & 0x00020000u)) & 0x00e00000u;
		} else {
			continue;
		}
		store32le(buf + i, insn);
	}
}

static int write_all(const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "unbcj-zstd: write: %s\n", strerror(errno));
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

struct stream {
	ZSTD_DCtx *dctx;
	size_t carried; /* bytes at out_buf's start not yet written (< 4) */
	size_t hint;    /* ZSTD_decompressStream's last result: 0 at a frame's end */
	uint32_t pos;   /* stream offset of out_buf[0] */
};

/* One decoder call over `in`; its whole words unfiltered and written.
 * Returns the bytes it produced, or -1 (said on stderr). */
static long step(struct stream *s, ZSTD_inBuffer *in)
{
	ZSTD_outBuffer out = { out_buf, sizeof out_buf, s->carried };
	size_t made, whole;

	s->hint = ZSTD_decompressStream(s->dctx, &out, in);
	if (ZSTD_isError(s->hint)) {
		fprintf(stderr, "unbcj-zstd: %s\n", ZSTD_getErrorName(s->hint));
		return -1;
	}
	made = out.pos - s->carried;
	whole = out.pos & ~(size_t)3;
	unfilter(out_buf, whole, s->pos);
	if (write_all(out_buf, whole) != 0)
		return -1;
	s->pos += (uint32_t)whole;
	s->carried = out.pos - whole;
	memmove(out_buf, out_buf + whole, s->carried);
	return (long)made;
}

int main(void)
{
	struct stream s = { ZSTD_createDCtx(), 0, 1, 0 };
	int got_input = 0;

	if (s.dctx == NULL || ZSTD_isError(ZSTD_DCtx_setParameter(s.dctx, ZSTD_d_windowLogMax, WINDOW_LOG_MAX))) {
		fprintf(stderr, "unbcj-zstd: cannot make a zstd decoder\n");
		return 1;
	}
	for (;;) {
		ssize_t r = read(STDIN_FILENO, in_buf, sizeof in_buf);
		ZSTD_inBuffer in = { in_buf, 0, 0 };

		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "unbcj-zstd: read: %s\n", strerror(errno));
			return 1;
		}
		if (r == 0)
			break;
		got_input = 1;
		in.size = (size_t)r;
		while (in.pos < in.size)
			if (step(&s, &in) < 0)
				return 1;
	}
	/* Output the decoder still holds when the input has ended (a full out_buf
	 * stopped it); no progress with the frame unfinished means truncated. */
	while (got_input && s.hint != 0) {
		ZSTD_inBuffer none = { in_buf, 0, 0 };
		long made = step(&s, &none);

		if (made < 0)
			return 1;
		if (made == 0)
			break;
	}
	if (!got_input || s.hint != 0) {
		fprintf(stderr, "unbcj-zstd: %s\n", got_input ? "truncated stream" : "empty input");
		return 1;
	}
	/* The last 1-3 bytes are no instruction: as they are. */
	if (write_all(out_buf, s.carried) != 0)
		return 1;
	ZSTD_freeDCtx(s.dctx);
	return 0;
}
