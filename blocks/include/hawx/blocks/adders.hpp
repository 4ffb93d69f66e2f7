#pragma once
/// \file
/// Cost-model helper shared by the adder components (exact_add, loa_add, truncated_add).
#include "hawx/blocks/cost_model.hpp"

namespace hawx::blocks {

/// Unit-gate estimate of a ripple-carry adder over result columns [first, bits] of a
/// bits-wide addition: unsigned, two operand bits per column below `bits` and the carry
/// into column `bits`; signed, operands sign-extended to bits+1 columns and the carry out
/// dropped. `carry_in` adds one input bit (arriving at `carry_in_arrival`) at column `first`.
GateEstimate adder_estimate(int bits, bool is_signed, int first, bool carry_in, double carry_in_arrival);

}  // namespace hawx::blocks
