#include "hawx/engine/gradient.hpp"

#include <hawx/sdk/error.hpp>

#include <cmath>
#include <vector>

namespace hawx::engine {

const char* to_string(GradientRule g) { return g == GradientRule::SlopeTable ? "slope" : "ste"; }

GradientRule gradient_rule_from_string(const std::string& s) {
    if (s == "ste") return GradientRule::StraightThrough;
    if (s == "slope") return GradientRule::SlopeTable;
    throw Error("gradient '" + s + "' is not known (ste: straight-through, slope: the table's finite-difference slope)");
}

at::Tensor error_slope(const CompiledBlock& block, bool along_activation) {
    // Operand values in increasing order and their codes.
    const int lo = block.is_signed ? -128 : 0;
    auto code = [](int v) { return static_cast<std::uint32_t>(v) & 0xFFu; };
    auto err = [&](int va, int vw) {
        return static_cast<double>(block.lookup(code(va), code(vw))) - static_cast<double>(va) * vw;
    };
    at::Tensor out = at::empty({256, 256}, at::kDouble);
    double* o = out.data_ptr<double>();
    for (int i = 0; i < 256; ++i)
        for (int j = 0; j < 256; ++j) {
            const int va = lo + i, vw = lo + j;
            // Central difference inside the range, one-sided at its ends.
            const int m = i == 0 ? 0 : -1, p = i == 255 ? 0 : 1;
            double d;
            if (along_activation)
                d = (err(va + p, vw) - err(va + m, vw)) / (p - m);
            else {
                const int mw = j == 0 ? 0 : -1, pw = j == 255 ? 0 : 1;
                d = (err(va, vw + pw) - err(va, vw + mw)) / (pw - mw);
            }
            o[code(va) * 256 + code(vw)] = d;
        }
    return out;
}

namespace {

void factor(const at::Tensor& m, int max_rank, at::Tensor& left, at::Tensor& right, double& dropped) {
    const auto svd = at::linalg_svd(m, /*full_matrices=*/false);
    const at::Tensor& u = std::get<0>(svd);
    const at::Tensor& sv = std::get<1>(svd);
    const at::Tensor& vh = std::get<2>(svd);
    const double* s = sv.data_ptr<double>();
    const double top = s[0];
    double total = 0, kept = 0;
    for (std::int64_t i = 0; i < sv.size(0); ++i) total += s[i] * s[i];
    std::int64_t rank = 0;
    while (rank < max_rank && rank < sv.size(0) && top > 0 && s[rank] > 1e-9 * top) kept += s[rank] * s[rank], ++rank;
    dropped = total > 0 ? std::sqrt(std::max(0.0, total - kept) / total) : 0.0;
    if (rank == 0) return;
    const at::Tensor root = sv.narrow(0, 0, rank).sqrt();
    left = (u.narrow(1, 0, rank) * root).t().contiguous().to(at::kFloat);
    right = (vh.narrow(0, 0, rank) * root.unsqueeze(1)).contiguous().to(at::kFloat);
}

}  // namespace

SlopeFactors factor_slopes(const CompiledBlock& block, int max_rank) {
    if (max_rank < 0) throw Error("slope rank must be >= 0, got " + std::to_string(max_rank));
    SlopeFactors f;
    if (block.exact) return f;
    if (max_rank == 0) {
        f.dropped_a = f.dropped_w = 1;
        return f;
    }
    factor(error_slope(block, true), max_rank, f.p, f.q, f.dropped_a);
    factor(error_slope(block, false), max_rank, f.r, f.s, f.dropped_w);
    return f;
}

}  // namespace hawx::engine
