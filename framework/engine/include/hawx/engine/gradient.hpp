#pragma once
/// \file
/// Gradients through approximate products for fine-tuning (Engine Mode::Train).
///
/// The straight-through rule differentiates the exact product: d(a*w)/da = w. The slope rule
/// differentiates the block's table: dT/da at code pair (a, w) is the central difference
/// (T[a+1][w] - T[a-1][w]) / 2 along the operand's VALUE order (one-sided at the ends of the
/// code range; signed codes are two's complement), i.e. w plus the slope of the error
/// E = T - a*w. Each full slope of a block is factorized once into a few rank-one terms,
///     dT/da[a][w] ~ sum_t p_t[a] q_t[w],   dT/dw[a][w] ~ sum_t r_t[a] s_t[w],
/// so that the gradient costs one backward convolution over the stacked terms instead of a
/// table lookup per product. The factorization is a truncated SVD with at most 1 + k terms
/// for k kept error terms: never worse than the product plus the best k error terms, exact
/// for a separable block of rank at most 1 + k (the dropped part is reported).
#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hawx/engine/compiled_block.hpp"

namespace hawx::engine {

enum class GradientRule {
    StraightThrough,  ///< "ste": the exact product's gradient
    SlopeTable        ///< "slope": the table's finite-difference slope
};
const char* to_string(GradientRule g);
/// "ste" | "slope"; throws hawx::Error naming the accepted values otherwise.
GradientRule gradient_rule_from_string(const std::string& s);

/// The slope at one end code of the differentiated operand, over the other operand's codes.
struct SlopeEnd {
    std::uint32_t code = 0;
    std::vector<float> row;  ///< 256 entries
};

/// Factors of both slopes: dT/da[a][w] ~ sum_t p[t][a] q[t][w], dT/dw[a][w] ~ sum_t r[t][a] s[t][w].
struct SlopeSides {
    at::Tensor p, q;  ///< [Ra, 256] float32, indexed by activation / weight code
    at::Tensor r, s;  ///< [Rw, 256] float32
    /// Relative Frobenius norm of the part of the ERROR slope the truncation dropped (0: exact
    /// up to rounding; 1: everything, the straight-through gradient).
    double dropped_a = 0, dropped_w = 0;
    /// Rows kept whole, outside the factors (whose left / right factor is zero at their codes):
    /// dT/da at activation codes `ends_a[i].code` over every weight code, dT/dw at weight codes
    /// `ends_w[i].code` over every activation code. Empty for the factorization of the whole table.
    std::vector<SlopeEnd> ends_a, ends_w;
    std::int64_t rank_a() const { return p.defined() ? p.size(0) : 0; }
    std::int64_t rank_w() const { return r.defined() ? r.size(0) : 0; }
    std::int64_t terms() const { return std::max(rank_a(), rank_w()); }
};

struct SlopeFactors : SlopeSides {
    /// The factors are the exact product's (p = 1, q = w; r = a, s = 1): an exact block, or
    /// no error term kept.
    bool straight_through = false;
    /// The same factorization over the INTERIOR of the differentiated operand's range: the
    /// one-sided differences at its two end codes (values -128 and 127, unsigned 0 and 255)
    /// break the structure of many blocks (a truncated multiplier's slope has rank 1 + k - 1
    /// inside, one more with its ends), so those rows are left out of the factors and kept
    /// whole in ends_a / ends_w, to be added where an operand holds an end code (the clip of a
    /// symmetric activation range; a filter's largest weight). Set only where it needs fewer
    /// terms than the whole table's factorization; the slope it gives is the same where both
    /// are exact, and never worse elsewhere at the same number of terms.
    std::optional<SlopeSides> interior;
};

/// The error slope of a block's table along the activation (`along_activation`) or the weight
/// operand, [256, 256] float64 indexed [a_code][w_code].
at::Tensor error_slope(const CompiledBlock& block, bool along_activation);

/// The full slope dT/da (or dT/dw): the error slope plus the other operand's value.
at::Tensor table_slope(const CompiledBlock& block, bool along_activation);

/// Truncated factorization of both full slopes with at most 1 + `error_terms` terms each
/// (singular values below 1e-9 of the largest are dropped as zero). An exact block, or
/// error_terms = 0, gives the product's own rank-one factors.
SlopeFactors factor_slopes(const CompiledBlock& block, int error_terms);

}  // namespace hawx::engine
