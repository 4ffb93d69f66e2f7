/***
* HAWX test fixture in the style of an EvoApproxLib circuit (ehw.fit.vutbr.cz/approxlib).
* Unsigned 8-bit lower-part-OR adder (LOA), k = 4: bits 0..3 are A|B, the upper 4-bit
* ripple-carry adder takes A3&B3 as carry in; 9-bit output.
* Header figures computed by tests/cimport/fixtures/gen_reference.py (integer arithmetic,
* independent of the HAWX importer).
***/
// MAE% = 0.562 %
// MAE = 2.88
// WCE% = 1.56 %
// WCE = 8
// WCRE% = 50.00 %
// EP% = 68.36 %
// MRE% = 1.49 %
// MSE = 16.00
// fixture: cost figures are invented for the test
// PDK45_PWR = 0.019 mW
// PDK45_AREA = 38.5 um2
// PDK45_DELAY = 0.35 ns
#include <stdint.h>
#include <stdlib.h>

uint64_t add8u_L4O(const uint64_t A, const uint64_t B)
{
  uint64_t O;
  uint64_t n_0, n_1, n_2, n_3, n_4, n_5, n_6, n_7, n_8, n_9, n_10, n_11;
  uint64_t n_12, n_13, n_14, n_15, n_16, n_17, n_18, n_19, n_20, n_21, n_22, n_23;
  uint64_t n_24;

  n_0 = ((A >> 0) & 1) | ((B >> 0) & 1);
  n_1 = ((A >> 1) & 1) | ((B >> 1) & 1);
  n_2 = ((A >> 2) & 1) | ((B >> 2) & 1);
  n_3 = ((A >> 3) & 1) | ((B >> 3) & 1);
  n_4 = ((A >> 3) & 1) & ((B >> 3) & 1);
  n_5 = (A >> 4) & 1;
  n_6 = (B >> 4) & 1;
  n_7 = n_5 ^ n_6;
  n_8 = n_7 ^ n_4;
  n_9 = (n_5 & n_6) | (n_4 & n_7);
  n_10 = (A >> 5) & 1;
  n_11 = (B >> 5) & 1;
  n_12 = n_10 ^ n_11;
  n_13 = n_12 ^ n_9;
  n_14 = (n_10 & n_11) | (n_9 & n_12);
  n_15 = (A >> 6) & 1;
  n_16 = (B >> 6) & 1;
  n_17 = n_15 ^ n_16;
  n_18 = n_17 ^ n_14;
  n_19 = (n_15 & n_16) | (n_14 & n_17);
  n_20 = (A >> 7) & 1;
  n_21 = (B >> 7) & 1;
  n_22 = n_20 ^ n_21;
  n_23 = n_22 ^ n_19;
  n_24 = (n_20 & n_21) | (n_19 & n_22);

  O = 0;
  O |= (n_0 & 1) << 0;
  O |= (n_1 & 1) << 1;
  O |= (n_2 & 1) << 2;
  O |= (n_3 & 1) << 3;
  O |= (n_8 & 1) << 4;
  O |= (n_13 & 1) << 5;
  O |= (n_18 & 1) << 6;
  O |= (n_23 & 1) << 7;
  O |= (n_24 & 1) << 8;
  return O;
}
