/* test_ratelimit.c - the per-second event budget (ratelimit.h). */
#include "engine_check.h"
#include "ratelimit.h"

int main(void)
{
	sl_rate_t r = { 0 };
	int allowed = 0;
	for (int i = 0; i < 100; i++)
		allowed += sl_rate_allow(&r, 5, 8);
	CHECK_EQ(allowed, 8); /* a flood within one second: the budget only */
	CHECK(sl_rate_allow(&r, 6, 8)); /* the next second: a fresh budget */
	allowed = 1;
	for (int i = 0; i < 100; i++)
		allowed += sl_rate_allow(&r, 6, 8);
	CHECK_EQ(allowed, 8);
	CHECK(!sl_rate_allow(&r, 6, 0)); /* a zero budget allows nothing */
	TEST_DONE("test_ratelimit");
}
