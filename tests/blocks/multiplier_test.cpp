// Multipliers of the core library: exact, truncated, broken-array, DRUM, Mitchell.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include <hawx/blocks/bam_mul.hpp>
#include <hawx/blocks/drum_mul.hpp>
#include <hawx/blocks/exact_mul.hpp>
#include <hawx/blocks/mitchell_mul.hpp>
#include <hawx/blocks/truncated_mul.hpp>
#include <hawx/sdk/error_metrics.hpp>

#include "block_test_util.hpp"

namespace {

using hawx::test::entry;
using hawx::test::for_all_pairs;
using hawx::test::P;
using namespace hawx::blocks;

void expect_all_metrics_zero(const hawx::ApproxBlock& b) {
    const hawx::ErrorMetrics m = hawx::characterize(b);
    EXPECT_EQ(m.pairs, 1u << (b.activation_bits() + b.weight_bits()));
    EXPECT_EQ(m.mae, 0.0);
    EXPECT_EQ(m.mae_percent, 0.0);
    EXPECT_EQ(m.wce, 0.0);
    EXPECT_EQ(m.wce_percent, 0.0);
    EXPECT_EQ(m.wcre_percent, 0.0);
    EXPECT_EQ(m.ep_percent, 0.0);
    EXPECT_EQ(m.mre_percent, 0.0);
    EXPECT_EQ(m.mse, 0.0);
    EXPECT_EQ(m.bias, 0.0);
    EXPECT_EQ(m.zero_exact_wrong, 0u);
}

TEST(ExactMul, TableIsTheProductAndEveryMetricIsZero) {
    for (bool s : {false, true})
        for (int bits : {2, 3, 5, 8}) {
            SCOPED_TRACE("signed=" + std::to_string(s) + " bits=" + std::to_string(bits));
            const ExactMul b = P<ExactMul>().b("signed", s).i("bits", bits).make();
            EXPECT_EQ(b.op(), hawx::BlockOp::Multiply);
            EXPECT_EQ(b.activation_bits(), bits);
            EXPECT_EQ(b.is_signed(), s);
            const auto t = hawx::block_table(b);
            for_all_pairs(b, [&](int a, int w) { ASSERT_EQ(entry(t, b, a, w), a * w) << a << "*" << w; });
            expect_all_metrics_zero(b);
        }
}

// Closed form of the truncated multiplier's error: every dropped partial-product bit at
// column c contributes -2^c * bit; with uniform operands P(bit) = 1/4 for a_i & w_j and
// 3/4 for a complemented Baugh-Wooley bit.
struct DroppedSums {
    double expected = 0;  // sum 2^c * P(bit = 1)
    double all_ones = 0;  // sum 2^c
};
DroppedSums dropped_sums(int n, bool is_signed, int k) {
    DroppedSums d;
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
            if (i + j >= k) continue;
            const bool complemented = is_signed && ((i == n - 1) != (j == n - 1));
            d.expected += std::ldexp(complemented ? 0.75 : 0.25, i + j);
            d.all_ones += std::ldexp(1.0, i + j);
        }
    return d;
}

TEST(TruncatedMul, KZeroIsExact) {
    for (bool s : {false, true})
        for (int bits : {2, 4, 8}) {
            const TruncatedMul b = P<TruncatedMul>().b("signed", s).i("bits", bits).i("k", 0).make();
            const auto t = hawx::block_table(b);
            for_all_pairs(b, [&](int a, int w) { ASSERT_EQ(entry(t, b, a, w), a * w) << a << "*" << w; });
        }
}

TEST(TruncatedMul, MaeAndBiasMatchTheClosedForm) {
    struct Case {
        bool s;
        int bits, k;
    };
    const Case cases[] = {{false, 8, 1}, {false, 8, 2}, {false, 8, 4}, {false, 8, 6}, {false, 8, 8},
                          {false, 8, 10}, {false, 4, 3}, {false, 4, 6}, {true, 8, 1}, {true, 8, 3},
                          {true, 8, 4}, {true, 8, 6}, {true, 8, 8}, {true, 8, 10}, {true, 4, 2}, {true, 4, 4}};
    for (const Case& c : cases) {
        SCOPED_TRACE("signed=" + std::to_string(c.s) + " bits=" + std::to_string(c.bits) + " k=" + std::to_string(c.k));
        const TruncatedMul b = P<TruncatedMul>().b("signed", c.s).i("bits", c.bits).i("k", c.k).make();
        const DroppedSums d = dropped_sums(c.bits, c.s, c.k);
        // Precondition of the closed form: the signed 2n-bit output never wraps (an unsigned
        // result is a sum of kept bits, never negative).
        if (c.s) {
            const double lowest_exact = -std::ldexp(1.0, c.bits - 1) * (std::ldexp(1.0, c.bits - 1) - 1);
            ASSERT_GE(lowest_exact - d.all_ones, -std::ldexp(1.0, 2 * c.bits - 1)) << "case would wrap";
        }

        const auto t = hawx::block_table(b);
        for_all_pairs(b, [&](int a, int w) { ASSERT_LE(entry(t, b, a, w), a * w) << a << "*" << w; });
        const hawx::ErrorMetrics m = hawx::characterize(b);
        EXPECT_NEAR(m.bias, -d.expected, 1e-9);
        EXPECT_NEAR(m.mae, d.expected, 1e-9);
        EXPECT_GT(m.mae, 0.0);
        if (!c.s) { EXPECT_EQ(m.wce, d.all_ones); }  // all ones: a = w = 2^n - 1
    }
}

TEST(TruncatedMul, HandWorkedUnsignedExample) {
    // Unsigned 4-bit, k = 3: drop columns 0..2. 7 * 7: columns 0,1,2 hold 1, 2, 3 ones
    // (1 + 4 + 12 = 17 dropped) -> 49 - 17 = 32.
    const TruncatedMul b = P<TruncatedMul>().b("signed", false).i("bits", 4).i("k", 3).make();
    EXPECT_EQ(b.apply(7, 7), 32);
    EXPECT_EQ(b.apply(15, 1), 8);  // keeps a_3 & w_0 only: 15 * 1 -> 8
}

TEST(BamMul, NoHorizontalBreakEqualsTruncated) {
    for (bool s : {false, true})
        for (int k : {0, 3, 5, 8, 12}) {
            SCOPED_TRACE("signed=" + std::to_string(s) + " k=" + std::to_string(k));
            const BamMul bam = P<BamMul>().b("signed", s).i("hbl", 0).i("vbl", k).make();
            const TruncatedMul tr = P<TruncatedMul>().b("signed", s).i("k", k).make();
            EXPECT_EQ(hawx::block_table(bam), hawx::block_table(tr));
            EXPECT_EQ(bam.cost().area_um2, tr.cost().area_um2);
        }
}

TEST(BamMul, HorizontalBreakRemovesLowWeightRows) {
    // Unsigned, vbl = 0: rows j < hbl gone -> a * (w with its low hbl bits cleared).
    const BamMul b = P<BamMul>().b("signed", false).i("hbl", 3).i("vbl", 0).make();
    const auto t = hawx::block_table(b);
    for_all_pairs(b, [&](int a, int w) { ASSERT_EQ(entry(t, b, a, w), a * (w & ~7)) << a << "*" << w; });
}

TEST(BamMul, HorizontalBreakIsNotCommutative) {
    for (bool s : {false, true}) {
        const BamMul b = P<BamMul>().b("signed", s).i("hbl", 2).i("vbl", 5).make();
        int found = 0;
        for_all_pairs(b, [&](int a, int w) { found += b.apply(a, w) != b.apply(w, a); });
        EXPECT_GT(found, 0) << "signed=" << s;
    }
    // A specific pair: unsigned, hbl = 2, vbl = 0: 1 * 4 keeps row 2 -> 4; 4 * 1 has only row 0 -> 0.
    const BamMul u = P<BamMul>().b("signed", false).i("hbl", 2).i("vbl", 0).make();
    EXPECT_EQ(u.apply(1, 4), 4);
    EXPECT_EQ(u.apply(4, 1), 0);
}

TEST(DrumMul, KAtLeastBitsIsExact) {
    for (bool s : {false, true})
        for (int bits : {3, 4, 6, 8})
            for (int k : {bits, 8}) {
                SCOPED_TRACE("signed=" + std::to_string(s) + " bits=" + std::to_string(bits) + " k=" + std::to_string(k));
                const DrumMul b = P<DrumMul>().b("signed", s).i("bits", bits).i("k", k).make();
                expect_all_metrics_zero(b);
            }
}

TEST(DrumMul, HandWorkedExamples) {
    const DrumMul u = P<DrumMul>().b("signed", false).i("bits", 8).i("k", 4).make();
    // 200 = 11001000b: top 4 bits 1100 -> 1101 = 13, << 4 -> 208; 3 < 16 exact: 624.
    EXPECT_EQ(u.apply(200, 3), 624);
    EXPECT_EQ(u.apply(3, 200), 624);
    // 17 = 10001b -> 1000|1 = 1001 = 9, << 1 -> 18; 100 = 1100100b -> 1100|1 = 13, << 3 -> 104.
    EXPECT_EQ(u.apply(17, 100), 18 * 104);
    // 255 -> 1111 (LSB already 1) << 4 = 240.
    EXPECT_EQ(u.apply(255, 255), 240 * 240);
    EXPECT_EQ(u.apply(15, 15), 225);  // both below 2^k: exact
    const DrumMul s = P<DrumMul>().b("signed", true).i("bits", 8).i("k", 4).make();
    // |-128| = 10000000b -> 1001 << 4 = 144; sign restored.
    EXPECT_EQ(s.apply(-128, 3), -432);
    EXPECT_EQ(s.apply(-100, -17), 1872);
    EXPECT_EQ(s.apply(100, -17), -1872);
    EXPECT_EQ(s.apply(-128, -128), 144 * 144);
}

TEST(MitchellMul, PowersOfTwoAreExact) {
    for (bool s : {false, true}) {
        const MitchellMul b = P<MitchellMul>().b("signed", s).make();
        for (int e = 0; e < 7; ++e)
            for (int w = hawx::operand_min(8, s); w <= hawx::operand_max(8, s); ++w) {
                ASSERT_EQ(b.apply(1 << e, w), (1 << e) * w) << (1 << e) << "*" << w;
                ASSERT_EQ(b.apply(w, 1 << e), w * (1 << e)) << w << "*" << (1 << e);
            }
        if (s) {
            EXPECT_EQ(b.apply(-128, 77), -128 * 77);
        } else {
            EXPECT_EQ(b.apply(128, 77), 128 * 77);
        }
    }
}

TEST(MitchellMul, NeverOverestimatesTheMagnitude) {
    for (bool s : {false, true})
        for (int f : {-1, 3, 0}) {
            const MitchellMul b = P<MitchellMul>().b("signed", s).i("frac_bits", f).make();
            const auto t = hawx::block_table(b);
            for_all_pairs(b, [&](int a, int w) {
                const int r = entry(t, b, a, w), ex = a * w;
                ASSERT_LE(std::abs(r), std::abs(ex)) << a << "*" << w;
                ASSERT_TRUE(r == 0 || (r < 0) == (ex < 0)) << a << "*" << w;
                if (!s) { ASSERT_LE(r, ex); }
            });
        }
}

TEST(MitchellMul, WorstCaseRelativeErrorIsOneNinth) {
    // Published: Mitchell's largest relative error is 1/9 = 11.1% (at x1 = x2 = 1/2).
    const MitchellMul b = P<MitchellMul>().b("signed", false).make();
    const hawx::ErrorMetrics m = hawx::characterize(b);
    EXPECT_LE(m.wcre_percent, 11.12);
    EXPECT_GT(m.wcre_percent, 11.0);
    EXPECT_EQ(b.apply(3, 3), 8);  // x1 = x2 = 1/2: 2 * 2^2 * (1/2 + 1/2) = 8 (exact 9)
    EXPECT_EQ(m.zero_exact_wrong, 0u);
}

TEST(MitchellMul, HandWorkedExamples) {
    const MitchellMul b = P<MitchellMul>().b("signed", false).make();
    // 5 * 6: k1 = k2 = 2, S = 1*4 + 2*4 = 12 < 16 -> 16 + 12 = 28.
    EXPECT_EQ(b.apply(5, 6), 28);
    // 200 * 3: k1 = 7, k2 = 1, S = 72*2 + 1*128 = 272 >= 256 -> 544.
    EXPECT_EQ(b.apply(200, 3), 544);
    EXPECT_EQ(b.apply(0, 200), 0);
    // frac_bits = 2: 200 = 11001000b -> bits below 7 - 2 = 5 cleared -> 192; 3 untouched;
    // S = 64*2 + 1*128 = 256, not < 256 -> 512.
    const MitchellMul t = P<MitchellMul>().b("signed", false).i("frac_bits", 2).make();
    EXPECT_EQ(t.apply(200, 3), 512);
    EXPECT_EQ(t.apply(5, 6), 28);  // k = 2 <= frac_bits: untouched
    const MitchellMul s = P<MitchellMul>().b("signed", true).make();
    EXPECT_EQ(s.apply(-5, 6), -28);
    EXPECT_EQ(s.apply(-5, -6), 28);
}

TEST(Multipliers, FillTableEqualsApplyEverywhere) {
    // The fill_table overrides must agree with apply().
    const std::vector<std::unique_ptr<hawx::ApproxBlock>> blocks = [] {
        std::vector<std::unique_ptr<hawx::ApproxBlock>> v;
        v.push_back(std::make_unique<TruncatedMul>(P<TruncatedMul>().i("k", 7).get()));
        v.push_back(std::make_unique<BamMul>(P<BamMul>().i("bits", 6).get()));
        v.push_back(std::make_unique<DrumMul>(P<DrumMul>().b("signed", false).get()));
        v.push_back(std::make_unique<MitchellMul>(P<MitchellMul>().i("frac_bits", 3).get()));
        return v;
    }();
    for (const auto& b : blocks) {
        const auto t = hawx::block_table(*b);
        for_all_pairs(*b, [&](int a, int w) { ASSERT_EQ(entry(t, *b, a, w), b->apply(a, w)); });
    }
}

}  // namespace
