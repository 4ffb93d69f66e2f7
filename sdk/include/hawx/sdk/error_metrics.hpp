#pragma once
/// \file
/// Error characterization of a block over all operand pairs, with EvoApproxLib's
/// definitions, so figures computed here can be compared with published ones.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "hawx/sdk/block.hpp"

namespace hawx {

/// Error statistics over every operand pair, e = approx - exact.
/// - MAE = mean |e|; WCE = max |e|; MSE = mean e^2; bias = mean e.
/// - Percentages are relative to the output range: 2^(na+nw) for multipliers (2^16 for
///   8x8, EvoApproxLib's convention), 2^(max(na,nw)+1) for adders.
/// - EP% = share of pairs with e != 0.
/// - MRE% and WCRE% are mean and max of |e| / |exact| over the pairs whose exact result is
///   non-zero; pairs with exact == 0 are left out of both (a relative error is undefined
///   there). `zero_exact_wrong` counts those pairs whose approximate result is not 0.
///   This reproduces EvoApproxLib's published MRE% = 100 % for the constant-0 multiplier.
struct ErrorMetrics {
    std::uint64_t pairs = 0;
    double output_range = 0;
    double mae = 0, mae_percent = 0;
    double wce = 0, wce_percent = 0;
    double wcre_percent = 0;
    double ep_percent = 0;
    double mre_percent = 0;
    double mse = 0;
    double bias = 0;
    std::uint64_t zero_exact_wrong = 0;
};

/// Computes ErrorMetrics from the block's table (exhaustive; at most 2^16 pairs).
inline ErrorMetrics characterize(const ApproxBlock& b) {
    const std::vector<std::int32_t> table = block_table(b);
    const int na = b.activation_bits(), nw = b.weight_bits();
    const bool s = b.is_signed();
    ErrorMetrics m;
    m.pairs = table.size();
    m.output_range = b.op() == BlockOp::Multiply ? std::ldexp(1.0, na + nw) : std::ldexp(1.0, std::max(na, nw) + 1);
    std::int64_t sum_abs = 0, sum_signed = 0, wce = 0, wrong = 0, nonzero_exact = 0;
    long double sum_sq = 0, sum_rel = 0, max_rel = 0;
    for (std::uint32_t a = 0; a < (1u << na); ++a) {
        const std::int32_t av = code_to_value(a, na, s);
        for (std::uint32_t w = 0; w < (1u << nw); ++w) {
            const std::int32_t wv = code_to_value(w, nw, s);
            const std::int64_t ex = b.exact(av, wv);
            const std::int64_t e = static_cast<std::int64_t>(table[(a << nw) | w]) - ex;
            const std::int64_t ae = e < 0 ? -e : e;
            sum_abs += ae;
            sum_signed += e;
            sum_sq += static_cast<long double>(e) * static_cast<long double>(e);
            wce = std::max(wce, ae);
            if (e != 0) ++wrong;
            if (ex != 0) {
                const long double rel = static_cast<long double>(ae) / static_cast<long double>(ex < 0 ? -ex : ex);
                sum_rel += rel;
                max_rel = std::max(max_rel, rel);
                ++nonzero_exact;
            } else if (e != 0) {
                ++m.zero_exact_wrong;
            }
        }
    }
    const double n = static_cast<double>(m.pairs);
    m.mae = static_cast<double>(sum_abs) / n;
    m.mae_percent = 100.0 * m.mae / m.output_range;
    m.wce = static_cast<double>(wce);
    m.wce_percent = 100.0 * m.wce / m.output_range;
    m.ep_percent = 100.0 * static_cast<double>(wrong) / n;
    m.mse = static_cast<double>(sum_sq / n);
    m.bias = static_cast<double>(sum_signed) / n;
    m.mre_percent = nonzero_exact ? static_cast<double>(100.0L * sum_rel / nonzero_exact) : 0.0;
    m.wcre_percent = static_cast<double>(100.0L * max_rel);
    return m;
}

}  // namespace hawx
