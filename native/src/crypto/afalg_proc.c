/*
 * afalg_proc.c - which kernel driver serves an algorithm, from /proc/crypto.
 *
 * Several drivers may register one algorithm name ("gcm-aes-ce",
 * "generic-gcm-aesni", a board's engine); the crypto API picks the highest
 * priority one, so that is the one we report.  Called once per SA set-up,
 * never per packet.
 */
#include "afalg_proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "key       : value\n" -> value (trimmed) when the key matches. */
static const char *field(const char *line, const char *key)
{
	size_t n = strlen(key);

	if (strncmp(line, key, n) != 0)
		return NULL;
	const char *p = line + n;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != ':')
		return NULL;
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static void copy_trim(char *dst, size_t dstlen, const char *src)
{
	size_t n = strcspn(src, "\r\n");

	while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\t'))
		n--;
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int sl_afalg_proc_driver(const char *path, const char *alg, char *driver, size_t driverlen)
{
	FILE *f;
	char line[256];
	char name[128] = "", drv[128] = "";
	long prio = -1, best = -1;
	bool in_entry = false;

	if (driverlen == 0)
		return -1;
	driver[0] = '\0';
	f = fopen(path != NULL ? path : "/proc/crypto", "re");
	if (f == NULL)
		return -1;

	/* Entries are blank-line separated blocks of "key : value" lines. */
	for (;;) {
		char *got = fgets(line, sizeof(line), f);
		bool end_of_entry = got == NULL || line[0] == '\n';

		if (end_of_entry) {
			if (in_entry && strcmp(name, alg) == 0 && drv[0] != '\0' && prio > best) {
				best = prio;
				copy_trim(driver, driverlen, drv);
			}
			in_entry = false;
			name[0] = drv[0] = '\0';
			prio = -1;
			if (got == NULL)
				break;
			continue;
		}
		in_entry = true;
		const char *v;
		if ((v = field(line, "name")) != NULL)
			copy_trim(name, sizeof(name), v);
		else if ((v = field(line, "driver")) != NULL)
			copy_trim(drv, sizeof(drv), v);
		else if ((v = field(line, "priority")) != NULL)
			prio = strtol(v, NULL, 10);
	}
	fclose(f);
	return best >= 0 ? 0 : -1;
}
