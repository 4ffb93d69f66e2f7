/***
* HAWX test fixture (malformed): EvoApproxLib-style header, but no circuit function.
***/
// MAE% = 0.52 %
// MAE = 1.0
#include <stdint.h>

static uint64_t full_adder_sum(uint64_t a, uint64_t b, uint64_t c)
{
  return (a ^ b ^ c) & 1;
}

uint64_t helper_not_a_circuit(const uint64_t A, const uint64_t B)
{
  return full_adder_sum(A, B, 0);
}
