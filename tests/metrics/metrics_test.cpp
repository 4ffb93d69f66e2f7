// Each built-in metric against its closed form on hand-made unit profiles of 2x2-bit blocks
// (16 code pairs, so every expected value is worked out by hand below).
#include <gtest/gtest.h>

#include <hawx/metrics/ame.hpp>
#include <hawx/metrics/error_only.hpp>
#include <hawx/metrics/gradient_only.hpp>
#include <hawx/metrics/hawx_metric.hpp>

#include <cmath>
#include <functional>

using namespace hawx;

namespace {

// A 2x2-bit multiplier whose result is a*w + err(a, w) (operand values).
class ErrBlock final : public ApproxBlock {
public:
    ErrBlock(bool is_signed, std::function<int(int, int)> err) : signed_(is_signed), err_(std::move(err)) {}
    BlockOp op() const override { return BlockOp::Multiply; }
    int activation_bits() const override { return 2; }
    int weight_bits() const override { return 2; }
    bool is_signed() const override { return signed_; }
    std::int32_t apply(std::int32_t a, std::int32_t w) const override { return a * w + err_(a, w); }
    HardwareCost cost() const override { return {}; }

private:
    bool signed_;
    std::function<int(int, int)> err_;
};

std::uint32_t idx(int a, int w) { return (value_to_code(a, 2) << 2) | value_to_code(w, 2); }

// A unit profile over 16 code pairs, filled by the tests; support derived from counts.
struct Unit {
    double g[16] = {}, c[16] = {};
    std::vector<std::uint32_t> support;
    UnitProfile p;
    Unit(bool is_signed, std::uint64_t ops, std::int64_t fan_in, double scale) {
        p.activation_bits = p.weight_bits = 2;
        p.is_signed = is_signed;
        p.operations = ops;
        p.fan_in = fan_in;
        p.output_scale = scale;
    }
    void set(int a, int w, double grad, double count) { g[idx(a, w)] = grad, c[idx(a, w)] = count; }
    const UnitProfile& get() {
        support.clear();
        for (std::uint32_t i = 0; i < 16; ++i)
            if (c[i] > 0) support.push_back(i);
        p.grad_weighted = g;
        p.counts = c;
        p.support = support.data();
        p.support_size = support.size();
        return p;
    }
};

Params defaults() { return Params(); }

TEST(Metrics, HawxIsTheGradientWeightedMeanAbsoluteError) {
    // unsigned: error +3 at (3,3), -1 at (1,2), 0 elsewhere
    ErrBlock b(false, [](int a, int w) { return a == 3 && w == 3 ? 3 : (a == 1 && w == 2 ? -1 : 0); });
    Unit u(false, 5, 4, 0.5);
    u.set(3, 3, 0.2, 1.0);  // |e| 3
    u.set(1, 2, 0.4, 2.0);  // |e| 1
    u.set(2, 2, 7.0, 2.0);  // |e| 0
    const metrics::HawxMetric m(defaults());
    EXPECT_TRUE(m.needs_gradients());
    const double want = 0.5 * (0.2 * 3 + 0.4 * 1) / 5.0;
    EXPECT_NEAR(m.score(b, block_table(b), u.get()), want, 1e-15);
    // the exact block scores 0
    ErrBlock exact(false, [](int, int) { return 0; });
    EXPECT_EQ(m.score(exact, block_table(exact), u.get()), 0.0);
}

TEST(Metrics, ErrorOnlyIsTheBlockMaeForEveryUnit) {
    // signed: -2 whenever a < 0 (a in {-2, -1}: 8 of the 16 pairs) -> MAE = 2 * 8 / 16 = 1
    ErrBlock b(true, [](int a, int) { return a < 0 ? -2 : 0; });
    const auto t = block_table(b);
    Unit u1(true, 3, 2, 0.25), u2(true, 9, 5, 4.0);
    u1.set(1, 1, 1.0, 3.0);
    u2.set(-1, 1, 5.0, 9.0);
    const metrics::ErrorOnly plain(Params({{"scaled", false}}));
    const metrics::ErrorOnly scaled(Params({{"scaled", true}}));
    EXPECT_FALSE(plain.needs_gradients());
    EXPECT_DOUBLE_EQ(plain.score(b, t, u1.get()), 1.0);
    EXPECT_DOUBLE_EQ(plain.score(b, t, u2.get()), 1.0);
    EXPECT_DOUBLE_EQ(scaled.score(b, t, u1.get()), 0.25);
    EXPECT_DOUBLE_EQ(scaled.score(b, t, u2.get()), 4.0);
    // unsigned: +1 only at (3,3) -> 1/16; a second block through the same metric object
    ErrBlock c(false, [](int a, int w) { return a == 3 && w == 3 ? 1 : 0; });
    Unit u3(false, 1, 1, 1.0);
    u3.set(0, 0, 0.0, 1.0);
    EXPECT_DOUBLE_EQ(plain.score(c, block_table(c), u3.get()), 1.0 / 16);
    EXPECT_DOUBLE_EQ(plain.score(b, t, u1.get()), 1.0);
}

TEST(Metrics, GradientOnlyIgnoresTheBlock) {
    ErrBlock b1(false, [](int, int) { return 0; }), b2(false, [](int a, int) { return a; });
    Unit u(false, 6, 3, 2.0);
    u.set(0, 1, 0.3, 2.0);
    u.set(2, 3, 0.9, 4.0);
    const metrics::GradientOnly m(defaults());
    EXPECT_DOUBLE_EQ(m.score(b1, block_table(b1), u.get()), (0.3 + 0.9) / 6.0);
    EXPECT_DOUBLE_EQ(m.score(b2, block_table(b2), u.get()), (0.3 + 0.9) / 6.0);
}

TEST(Metrics, AmeAccumulatesMeanAndVarianceOverTheFanIn) {
    // error +2 at (1,1) seen 3 times, -2 at (2,1) seen once: mu = 1, E[e^2] = 4, var = 3.
    ErrBlock b(false, [](int a, int w) { return a == 1 && w == 1 ? 2 : (a == 2 && w == 1 ? -2 : 0); });
    Unit u(false, 4, 9, 0.1);
    u.set(1, 1, 0.0, 3.0);
    u.set(2, 1, 0.0, 1.0);
    const metrics::Ame m(defaults());
    EXPECT_FALSE(m.needs_gradients());
    // sqrt(n var + n^2 mu^2) * scale / n with n = 9
    EXPECT_NEAR(m.score(b, block_table(b), u.get()), std::sqrt(9 * 3.0 + 81 * 1.0) * 0.1 / 9, 1e-15);
    // an unbiased error (+2 and -2 equally often) accumulates like sqrt(n): 2 * sqrt(9) / 9
    Unit v(false, 2, 9, 1.0);
    v.set(1, 1, 0.0, 1.0);
    v.set(2, 1, 0.0, 1.0);
    EXPECT_NEAR(m.score(b, block_table(b), v.get()), 2.0 * 3.0 / 9.0, 1e-15);
    // a constant error c accumulates like n: score = |c| whatever n
    ErrBlock k(false, [](int, int) { return 3; });
    EXPECT_NEAR(m.score(k, block_table(k), v.get()), 3.0, 1e-15);
}

TEST(Metrics, RefuseMismatchedArguments) {
    ErrBlock b(false, [](int, int) { return 0; });
    Unit u(true, 1, 1, 1.0);
    u.set(0, 0, 1.0, 1.0);
    const metrics::HawxMetric h(defaults());
    const metrics::Ame ame(defaults());
    EXPECT_THROW(h.score(b, block_table(b), u.get()), Error);  // signedness
    Unit v(false, 1, 0, 1.0);
    v.set(0, 0, 1.0, 1.0);
    EXPECT_THROW(ame.score(b, block_table(b), v.get()), Error);  // fan_in 0
    std::vector<std::int32_t> short_table(8);
    Unit w(false, 1, 1, 1.0);
    w.set(0, 0, 1.0, 1.0);
    try {
        h.score(b, short_table, w.get());
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("table has 8 entries, expected 16"), std::string::npos) << e.what();
    }
}

}  // namespace
