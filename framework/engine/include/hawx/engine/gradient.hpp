#pragma once
/// \file
/// Gradients through approximate products for fine-tuning (Engine Mode::Train).
///
/// The straight-through rule differentiates the exact product: d(a*w)/da = w. The slope rule
/// differentiates the block's table: dT/da at code pair (a, w) is the central difference
/// (T[a+1][w] - T[a-1][w]) / 2 along the operand's VALUE order (one-sided at the ends of the
/// code range; signed codes are two's complement), i.e. w plus the slope of the error
/// E = T - a*w. The error slopes of a block are factorized once into a few rank-one terms,
///     dE/da[a][w] ~ sum_r p_r[a] q_r[w],   dE/dw[a][w] ~ sum_r r_r[a] s_r[w],
/// so that their gradient costs a few extra convolutions instead of a table lookup per
/// product. The factorization is a truncated SVD (exact for a separable block of rank at most
/// the kept rank; the dropped part is reported).
#include <ATen/ATen.h>

#include <string>

#include "hawx/engine/compiled_block.hpp"

namespace hawx::engine {

enum class GradientRule {
    StraightThrough,  ///< "ste": the exact product's gradient
    SlopeTable        ///< "slope": the table's finite-difference slope
};
const char* to_string(GradientRule g);
/// "ste" | "slope"; throws hawx::Error naming the accepted values otherwise.
GradientRule gradient_rule_from_string(const std::string& s);

struct SlopeFactors {
    at::Tensor p, q;  ///< [Ra, 256] float32, indexed by activation / weight code
    at::Tensor r, s;  ///< [Rw, 256] float32
    /// Relative Frobenius norm of the part the truncation dropped (0: exact up to rounding).
    double dropped_a = 0, dropped_w = 0;
    std::int64_t rank_a() const { return p.defined() ? p.size(0) : 0; }
    std::int64_t rank_w() const { return r.defined() ? r.size(0) : 0; }
};

/// The error slope of a block's table along the activation (`along_activation`) or the weight
/// operand, [256, 256] float64 indexed [a_code][w_code].
at::Tensor error_slope(const CompiledBlock& block, bool along_activation);

/// Truncated factorization of both error slopes, at most `max_rank` terms each (singular
/// values below 1e-9 of the largest are dropped as zero). An exact block has rank 0.
SlopeFactors factor_slopes(const CompiledBlock& block, int max_rank);

}  // namespace hawx::engine
