/*
 * afalg_proc.h - look up the serving driver of a kernel crypto algorithm.
 */
#ifndef SL_AFALG_PROC_H
#define SL_AFALG_PROC_H

#include <stdbool.h>
#include <stddef.h>

/* Driver name of the highest-priority /proc/crypto entry whose name is alg.
 * path NULL means /proc/crypto (a file path lets tests feed a sample).
 * Returns 0, or -1 when no entry matches. */
int sl_afalg_proc_driver(const char *path, const char *alg, char *driver, size_t driverlen);

#endif
