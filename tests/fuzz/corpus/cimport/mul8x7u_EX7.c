/***
* HAWX test fixture: an exact unsigned 8x7 multiplier (A: 8 bits, B: 7 bits), used to
* check that non-8x8 circuits are parsed but refused as table files.
***/
// MAE% = 0.00 %
// MAE = 0.0
// WCE% = 0.00 %
// WCE = 0
// EP% = 0.00 %
// MRE% = 0.00 %
// MSE = 0.0
#include <stdint.h>

uint64_t mul8x7u_EX7(const uint64_t A,const uint64_t B)
{
  return (A & 0xFF) * (B & 0x7F);
}
