/*
 * sl_fuzz_node.c - libFuzzer driving JavaScript: a Node addon (N-API) that
 * hands libFuzzer (clang's libclang_rt.fuzzer_no_main) an array of 8-bit
 * edge counters owned by JavaScript, and runs LLVMFuzzerRunDriver with a
 * callback into a JS function.
 *
 * The JS code under test is instrumented at bundle time (test/fuzz/lib/
 * instrument.mjs): every branch does `__slc[id]++` on that array, the same
 * inline 8-bit counters clang's -fsanitize=fuzzer gives C code, so libFuzzer's
 * coverage guidance, corpus and minimisation work unchanged.
 *
 * Jazzer.js would be the off-the-shelf choice, but its native part does not
 * load on Debian 12 (the 4.x prebuild needs glibc 2.38) and older releases
 * download a patched libFuzzer at install time: see test/fuzz/README.md.
 *
 *   register(counters: Uint8Array): void   once, before run()
 *   run(args: string[], fn: (data: Buffer) => void): never
 *       libFuzzer's command line (argv[0] first); exits the process the way
 *       libFuzzer does.  An exception thrown by fn is printed and the input
 *       saved as a crash (abort(): libFuzzer's deadly-signal path).
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *, size_t));
void __sanitizer_cov_8bit_counters_init(uint8_t *start, uint8_t *stop);
void __sanitizer_cov_pcs_init(const uintptr_t *beg, const uintptr_t *end);

static napi_env g_env;
static napi_ref g_fn, g_counters;
static uintptr_t *g_pcs;

static napi_value fail(napi_env env, const char *msg)
{
	napi_throw_error(env, NULL, msg);
	return NULL;
}

static napi_value js_register(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1)
		return fail(env, "register(counters: Uint8Array)");
	if (g_counters)
		return fail(env, "counters are registered already");
	napi_typedarray_type type;
	size_t n;
	void *data;
	napi_value ab;
	size_t off;
	if (napi_get_typedarray_info(env, argv[0], &type, &n, &data, &ab, &off) != napi_ok ||
	    type != napi_uint8_array || n == 0)
		return fail(env, "register(counters: Uint8Array) with at least one counter");
	/* Keep the array alive for the whole run: libFuzzer reads it after every input. */
	napi_create_reference(env, argv[0], 1, &g_counters);
	/* One fake PC per counter (libFuzzer's PC table: pairs of PC and flags),
	 * so its "cov:" figure counts covered edges. */
	g_pcs = calloc(2 * n, sizeof(uintptr_t));
	if (!g_pcs)
		return fail(env, "out of memory");
	for (size_t i = 0; i < n; i++)
		g_pcs[2 * i] = i + 1;
	__sanitizer_cov_8bit_counters_init(data, (uint8_t *)data + n);
	__sanitizer_cov_pcs_init(g_pcs, g_pcs + 2 * n);
	return NULL;
}

static void report(napi_env env, napi_value exc)
{
	napi_value stack, str;
	size_t len = 0;
	static char text[8192];
	if (napi_get_named_property(env, exc, "stack", &stack) != napi_ok)
		stack = exc;
	napi_valuetype t;
	if (napi_typeof(env, stack, &t) != napi_ok || t != napi_string)
		stack = exc;
	if (napi_coerce_to_string(env, stack, &str) != napi_ok ||
	    napi_get_value_string_utf8(env, str, text, sizeof(text), &len) != napi_ok)
		snprintf(text, sizeof(text), "(an exception that cannot be printed)");
	fprintf(stderr, "\n==sitelink-fuzz== uncaught exception in the fuzz target:\n%s\n", text);
	fflush(stderr);
}

static int one_input(const uint8_t *data, size_t size)
{
	napi_env env = g_env;
	napi_handle_scope scope;
	napi_open_handle_scope(env, &scope);
	napi_value buf, fn, global, result;
	void *copy;
	napi_get_global(env, &global);
	napi_get_reference_value(env, g_fn, &fn);
	/* A fresh copy each time: the target may keep or modify it. */
	if (napi_create_buffer_copy(env, size, size ? data : (const void *)"", &copy, &buf) != napi_ok)
		abort();
	if (napi_call_function(env, global, fn, 1, &buf, &result) != napi_ok) {
		bool pending = false;
		napi_is_exception_pending(env, &pending);
		if (pending) {
			napi_value exc;
			napi_get_and_clear_last_exception(env, &exc);
			report(env, exc);
		} else {
			fprintf(stderr, "\n==sitelink-fuzz== the fuzz target could not be called\n");
		}
		abort(); /* libFuzzer's SIGABRT handler writes the crash input */
	}
	napi_close_handle_scope(env, scope);
	return 0;
}

static napi_value js_run(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	bool is_array = false;
	napi_valuetype t;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
	    napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
	    napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function)
		return fail(env, "run(args: string[], fn: (data: Buffer) => void)");
	if (!g_counters)
		return fail(env, "register() the counters first");
	uint32_t n;
	napi_get_array_length(env, argv[0], &n);
	char **args = calloc((size_t)n + 1, sizeof(char *));
	for (uint32_t i = 0; i < n; i++) {
		napi_value v;
		size_t len;
		napi_get_element(env, argv[0], i, &v);
		if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
			return fail(env, "libFuzzer arguments must be strings");
		args[i] = malloc(len + 1);
		napi_get_value_string_utf8(env, v, args[i], len + 1, &len);
	}
	g_env = env;
	napi_create_reference(env, argv[1], 1, &g_fn);
	int argcount = (int)n;
	/* libFuzzer exits the process itself (0 when done, non-zero on a finding). */
	int rc = LLVMFuzzerRunDriver(&argcount, &args, one_input);
	exit(rc);
}

NAPI_MODULE_INIT()
{
	napi_property_descriptor props[] = {
		{ "register", NULL, js_register, NULL, NULL, NULL, napi_default, NULL },
		{ "run", NULL, js_run, NULL, NULL, NULL, napi_default, NULL },
	};
	napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
	return exports;
}
