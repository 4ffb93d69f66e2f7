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

namespace {

at::Tensor slope(const CompiledBlock& block, bool along_activation, bool with_product) {
    // Operand values in increasing order and their codes.
    const int lo = block.is_signed ? -128 : 0;
    auto code = [](int v) { return static_cast<std::uint32_t>(v) & 0xFFu; };
    auto err = [&](int va, int vw) {
        return static_cast<double>(block.lookup(code(va), code(vw))) - (with_product ? 0.0 : static_cast<double>(va) * vw);
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

}  // namespace

at::Tensor error_slope(const CompiledBlock& block, bool along_activation) { return slope(block, along_activation, false); }
at::Tensor table_slope(const CompiledBlock& block, bool along_activation) { return slope(block, along_activation, true); }

namespace {

// `m` (the full slope, [a][w]) to at most max_rank terms; `dropped` relative to the error part
// `e`. With `ends` (codes of the differentiated operand: rows of m along a, columns along w),
// those rows / columns are factored as zero and returned whole in `kept`.
void factor(const at::Tensor& m_in, const at::Tensor& e, int max_rank, bool along_activation,
            const std::vector<std::uint32_t>& ends, at::Tensor& left, at::Tensor& right, double& dropped,
            std::vector<SlopeEnd>& kept) {
    // Work on rows = the differentiated operand's codes.
    const at::Tensor m = along_activation ? m_in : m_in.t().contiguous();
    at::Tensor keep = at::ones({256}, at::kBool);
    for (std::uint32_t c : ends) {
        keep[c] = false;
        SlopeEnd end;
        end.code = c;
        const at::Tensor row = m[c].to(at::kFloat).contiguous();
        end.row.assign(row.data_ptr<float>(), row.data_ptr<float>() + 256);
        kept.push_back(std::move(end));
    }
    const at::Tensor inside = m.index({keep});
    const auto svd = at::linalg_svd(inside, /*full_matrices=*/false);
    const at::Tensor& u = std::get<0>(svd);
    const at::Tensor& sv = std::get<1>(svd);
    const at::Tensor& vh = std::get<2>(svd);
    const double* s = sv.data_ptr<double>();
    const double top = s[0];
    std::int64_t rank = 0;
    while (rank < max_rank && rank < sv.size(0) && top > 0 && s[rank] > 1e-9 * top) ++rank;
    if (rank == 0) return;
    const at::Tensor root = sv.narrow(0, 0, rank).sqrt();
    at::Tensor l = at::zeros({256, rank}, at::kDouble);
    l.index_put_({keep}, u.narrow(1, 0, rank) * root);
    const at::Tensor r = vh.narrow(0, 0, rank) * root.unsqueeze(1);
    const double err = e.norm().item<double>();
    dropped = err > 0 ? (inside - l.index({keep}).mm(r)).norm().item<double>() / err : 0.0;
    // Rows of the differentiated operand are p (along a) or s (along w).
    if (along_activation) {
        left = l.t().contiguous().to(at::kFloat);
        right = r.contiguous().to(at::kFloat);
    } else {
        left = r.contiguous().to(at::kFloat);
        right = l.t().contiguous().to(at::kFloat);
    }
}

SlopeSides factor_sides(const CompiledBlock& block, int error_terms, bool interior) {
    SlopeSides f;
    // The codes of the operand range's ends, lowest and highest value.
    const std::vector<std::uint32_t> ends =
        interior ? (block.is_signed ? std::vector<std::uint32_t>{128, 127} : std::vector<std::uint32_t>{0, 255})
                 : std::vector<std::uint32_t>{};
    factor(table_slope(block, true), error_slope(block, true), error_terms + 1, true, ends, f.p, f.q, f.dropped_a, f.ends_a);
    factor(table_slope(block, false), error_slope(block, false), error_terms + 1, false, ends, f.r, f.s, f.dropped_w,
           f.ends_w);
    return f;
}

}  // namespace

SlopeFactors factor_slopes(const CompiledBlock& block, int error_terms) {
    if (error_terms < 0) throw Error("slope rank must be >= 0, got " + std::to_string(error_terms));
    SlopeFactors f;
    if (block.exact || error_terms == 0) {
        // The product a*w: p = 1, q = w along a; r = a, s = 1 along w (codes to values).
        at::Tensor value = at::arange(256, at::kFloat);
        if (block.is_signed) value = at::where(value > 127, value - 256, value);
        const at::Tensor one = at::ones({1, 256}, at::kFloat);
        f.p = one, f.q = value.view({1, 256}).clone(), f.r = value.view({1, 256}).clone(), f.s = one.clone();
        f.straight_through = true;
        f.dropped_a = f.dropped_w = block.exact ? 0.0 : 1.0;
        return f;
    }
    static_cast<SlopeSides&>(f) = factor_sides(block, error_terms, false);
    SlopeSides inner = factor_sides(block, error_terms, true);
    if (inner.terms() < f.terms() && inner.dropped_a <= f.dropped_a + 1e-12 && inner.dropped_w <= f.dropped_w + 1e-12)
        f.interior = std::move(inner);
    return f;
}

}  // namespace hawx::engine
