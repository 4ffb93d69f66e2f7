#pragma once
/// \file
/// Error characterization of a block over all operand pairs, with EvoApproxLib's
/// definitions, so figures computed here can be compared with published ones.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "hawx/sdk/block.hpp"
#include "hawx/sdk/error.hpp"

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
    bool sampled = false;  ///< figures from kSampledPairs random pairs, not every pair
};

/// Operand pairs characterize() draws for a block too wide for its table (2^20).
inline constexpr std::uint64_t kSampledPairs = std::uint64_t{1} << 20;

/// Operands drawn uniformly over a width's range (splitmix64 from `seed`): reproducible
/// samples for blocks too wide to enumerate.
class OperandSampler {
public:
    explicit OperandSampler(bool is_signed, std::uint64_t seed = 1) : signed_(is_signed), state_(seed) {}
    std::int64_t draw(int bits) {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        const std::uint64_t code = (z ^ (z >> 31)) >> (64 - bits);
        return signed_ && (code >> (bits - 1)) ? static_cast<std::int64_t>(code) - (std::int64_t{1} << bits)
                                               : static_cast<std::int64_t>(code);
    }

private:
    bool signed_;
    std::uint64_t state_;
};

/// Computes ErrorMetrics from the block's table: exhaustive for blocks of at most 16
/// operand bits in total. Adders wider than that (accumulators) are characterized on
/// kSampledPairs operand pairs drawn uniformly over both operands' ranges with a fixed
/// generator (splitmix64, seed 1), through add_n; `sampled` says so.
inline ErrorMetrics characterize(const ApproxBlock& b) {
    const int na = b.activation_bits(), nw = b.weight_bits();
    const bool s = b.is_signed();
    ErrorMetrics m;
    m.output_range = b.op() == BlockOp::Multiply ? std::ldexp(1.0, na + nw) : std::ldexp(1.0, std::max(na, nw) + 1);
    // Sums of up to 2^20 errors of 33-bit sums need more than 64 bits: long double.
    long double sum_abs = 0, sum_signed = 0, sum_sq = 0, sum_rel = 0, max_rel = 0;
    std::int64_t wce = 0;
    std::uint64_t wrong = 0, nonzero_exact = 0;
    const auto visit = [&](std::int64_t av, std::int64_t wv, std::int64_t approx) {
        const std::int64_t ex = b.op() == BlockOp::Multiply ? av * wv : av + wv;
        const std::int64_t e = approx - ex;
        const std::int64_t ae = e < 0 ? -e : e;
        sum_abs += static_cast<long double>(ae);
        sum_signed += static_cast<long double>(e);
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
    };
    if (na + nw <= 16) {
        const std::vector<std::int32_t> table = block_table(b);
        m.pairs = table.size();
        for (std::uint32_t a = 0; a < (1u << na); ++a)
            for (std::uint32_t w = 0; w < (1u << nw); ++w)
                visit(code_to_value(a, na, s), code_to_value(w, nw, s), table[(a << nw) | w]);
    } else {
        if (b.op() != BlockOp::Add)
            throw Error("characterize: a " + std::to_string(na) + "x" + std::to_string(nw) +
                        "-bit multiplier is wider than the 16 operand bits tables hold");
        m.sampled = true;
        m.pairs = kSampledPairs;
        OperandSampler sampler(s);
        const auto draw = [&](int bits) { return sampler.draw(bits); };
        constexpr std::size_t kBatch = 4096;
        std::vector<std::int64_t> av(kBatch), wv(kBatch), out(kBatch);
        for (std::uint64_t done = 0; done < kSampledPairs; done += kBatch) {
            for (std::size_t i = 0; i < kBatch; ++i) av[i] = draw(na), wv[i] = draw(nw);
            b.add_n(av.data(), wv.data(), out.data(), kBatch);
            for (std::size_t i = 0; i < kBatch; ++i) visit(av[i], wv[i], out[i]);
        }
    }
    const double n = static_cast<double>(m.pairs);
    m.mae = static_cast<double>(sum_abs / n);
    m.mae_percent = 100.0 * m.mae / m.output_range;
    m.wce = static_cast<double>(wce);
    m.wce_percent = 100.0 * m.wce / m.output_range;
    m.ep_percent = 100.0 * static_cast<double>(wrong) / n;
    m.mse = static_cast<double>(sum_sq / n);
    m.bias = static_cast<double>(sum_signed / n);
    m.mre_percent = nonzero_exact ? static_cast<double>(100.0L * sum_rel / nonzero_exact) : 0.0;
    m.wcre_percent = static_cast<double>(100.0L * max_rel);
    return m;
}

/// The unit of the last digit a figure was printed with: "1.2" -> 0.1, "33" -> 1,
/// "0.0018" -> 1e-4, "900.00" -> 0.01, "47164.981e4" -> 10 (an optional sign, digits, an
/// optional fraction and exponent; a unit such as "%" or "mW" after a space is ignored).
/// 0 when `text` is not a number.
inline double printed_unit(const std::string& text) {
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (i < n && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    std::size_t digits = 0;
    while (i < n && text[i] >= '0' && text[i] <= '9') ++i, ++digits;
    int decimals = 0;
    if (i < n && text[i] == '.') {
        ++i;
        while (i < n && text[i] >= '0' && text[i] <= '9') ++i, ++decimals, ++digits;
    }
    if (digits == 0) return 0.0;
    int exponent = 0;
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
        char* end = nullptr;
        const long e = std::strtol(text.c_str() + i + 1, &end, 10);
        if (end == text.c_str() + i + 1 || e < -300 || e > 300) return 0.0;
        exponent = static_cast<int>(e);
    }
    return std::pow(10.0, exponent - decimals);
}

/// The same for a figure known only as a number (a sidecar or plugin without the printed
/// text): the last digit of its shortest round-trip decimal form, and units for a value of
/// 1 or more printed without a fraction (so 900 counts as "900", not "9e2").
inline double printed_unit(double value) {
    if (!std::isfinite(value)) return 0.0;
    char buf[40];
    for (int p = 1; p <= 17; ++p) {
        std::snprintf(buf, sizeof buf, "%.*g", p, value);
        if (std::strtod(buf, nullptr) == value) break;
    }
    const double u = printed_unit(std::string(buf));
    return std::fabs(value) >= 1.0 ? std::min(u, 1.0) : u;
}

/// The one rule by which a figure computed from a block's table agrees with the published
/// one (the importer, the table loader and `hawx blocks show` all apply it, through
/// check_published): the computed value is less than one unit of the published figure's last
/// printed digit away, as a value rounded (EvoApproxLib v2022: MAE = 33 for 33.28, 1.2 for
/// 1.25) or cut (truncated) to that digit is. A wrong table (another circuit's, a sign error)
/// misses some figure by many units.
inline bool published_agrees(double computed, double published, double unit) {
    return std::fabs(computed - published) < unit * (1.0 - 1e-9);
}

/// One published figure beside the computed one.
struct FigureCheck {
    std::string key;    ///< sidecar key: "mae", "mae_percent", ...
    std::string label;  ///< as EvoApproxLib headers name it: "MAE", "MAE%", ...
    double published = 0, computed = 0;
    std::string text;   ///< as printed (from PublishedMetrics::printed, else the shortest form)
    double unit = 0;    ///< of the last printed digit
    bool agrees = false;
    /// For MAE% and WCE%: agreement came from the published MAE / WCE, not the computed one
    /// (EvoApproxLib derives the percentage from the already rounded figure: MAE = 1.2 and
    /// MAE% = 0.0018 for a table whose MAE is 1.25, i.e. 0.0019%).
    bool via_published = false;
    /// The metrics were sampled (ErrorMetrics::sampled) and the figure agrees as a sample can:
    /// a mean within 2% (about 6 standard errors of 2^20 pairs for |e| with a coefficient of
    /// variation up to 3), a worst case at most the published one (a sample's maximum is a
    /// lower bound of the true one).
    bool via_sampling = false;
};

/// Every figure `p` publishes, compared with `m` by published_agrees (order: MAE%, MAE, WCE%,
/// WCE, WCRE%, EP%, MRE%, MSE, as EvoApproxLib headers list them). MAE% and WCE% also agree
/// when they are the published MAE / WCE as a percentage of the output range and that figure
/// agrees (FigureCheck::via_published).
inline std::vector<FigureCheck> check_published(const PublishedMetrics& p, const ErrorMetrics& m) {
    const struct {
        const char* key;
        const char* label;
        const std::optional<double>& published;
        double computed;
    } figures[] = {{"mae_percent", "MAE%", p.mae_percent, m.mae_percent}, {"mae", "MAE", p.mae, m.mae},
                   {"wce_percent", "WCE%", p.wce_percent, m.wce_percent},  {"wce", "WCE", p.wce, m.wce},
                   {"wcre_percent", "WCRE%", p.wcre_percent, m.wcre_percent},
                   {"ep_percent", "EP%", p.ep_percent, m.ep_percent},
                   {"mre_percent", "MRE%", p.mre_percent, m.mre_percent}, {"mse", "MSE", p.mse, m.mse}};
    std::vector<FigureCheck> out;
    for (const auto& f : figures) {
        if (!f.published) continue;
        FigureCheck c;
        c.key = f.key;
        c.label = f.label;
        c.published = *f.published;
        c.computed = f.computed;
        const auto it = p.printed.find(f.key);
        double unit = it != p.printed.end() ? printed_unit(it->second) : 0.0;
        if (unit > 0) {
            c.text = it->second;
        } else {
            unit = printed_unit(c.published);
            char buf[40];
            std::snprintf(buf, sizeof buf, "%.10g", c.published);
            c.text = buf;
        }
        c.unit = unit;
        c.agrees = published_agrees(c.computed, c.published, unit);
        if (!c.agrees && m.sampled) {
            const bool worst = c.key == "wce" || c.key == "wce_percent" || c.key == "wcre_percent";
            c.agrees = c.via_sampling = worst ? c.computed < c.published + unit
                                              : std::fabs(c.computed - c.published) <= 0.02 * std::fabs(c.published) + unit;
        }
        out.push_back(std::move(c));
    }
    // Percentages derived from the printed absolute figure.
    const auto find = [&](const char* key) -> FigureCheck* {
        for (auto& c : out)
            if (c.key == key) return &c;
        return nullptr;
    };
    for (const auto& [pct, abs] : {std::pair<const char*, const char*>{"mae_percent", "mae"}, {"wce_percent", "wce"}}) {
        FigureCheck* c = find(pct);
        const FigureCheck* base = find(abs);
        if (!c || c->agrees || !base || !base->agrees || m.output_range <= 0) continue;
        if (published_agrees(100.0 * base->published / m.output_range, c->published, c->unit))
            c->agrees = c->via_published = true;
    }
    return out;
}

}  // namespace hawx
