/***
* HAWX test fixture (malformed): a header figure that is not a number.
***/
// MAE% = 0.52 %
// WCE = twelve
#include <stdint.h>

uint64_t mul8u_HDR(const uint64_t A, const uint64_t B)
{
  return (A & 0xFF) * (B & 0xFF);
}
