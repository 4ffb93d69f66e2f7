/***
* HAWX test fixture (malformed): the circuit takes a pointer operand (unsupported).
***/
// MAE% = 0.00 %
#include <stdint.h>

uint64_t mul8u_PTR(const uint64_t *B, const uint64_t A)
{
  return ((*B) & 0xFF) * (A & 0xFF);
}
