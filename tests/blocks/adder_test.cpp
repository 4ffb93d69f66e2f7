// Adders of the core library: exact, lower-part OR, truncated.
#include <cmath>
#include <cstdint>

#include <gtest/gtest.h>

#include <hawx/blocks/exact_add.hpp>
#include <hawx/blocks/loa_add.hpp>
#include <hawx/blocks/truncated_add.hpp>
#include <hawx/sdk/error_metrics.hpp>

#include "block_test_util.hpp"

namespace {

using hawx::test::entry;
using hawx::test::for_all_pairs;
using hawx::test::P;
using namespace hawx::blocks;

TEST(ExactAdd, TableIsTheSumAndEveryMetricIsZero) {
    for (bool s : {false, true})
        for (int bits : {2, 4, 7, 8}) {
            SCOPED_TRACE("signed=" + std::to_string(s) + " bits=" + std::to_string(bits));
            const ExactAdd b = P<ExactAdd>().b("signed", s).i("bits", bits).make();
            EXPECT_EQ(b.op(), hawx::BlockOp::Add);
            const auto t = hawx::block_table(b);
            for_all_pairs(b, [&](int a, int w) { ASSERT_EQ(entry(t, b, a, w), a + w) << a << "+" << w; });
            const hawx::ErrorMetrics m = hawx::characterize(b);
            EXPECT_EQ(m.output_range, std::ldexp(1.0, bits + 1));
            EXPECT_EQ(m.mae, 0.0);
            EXPECT_EQ(m.wce, 0.0);
            EXPECT_EQ(m.wcre_percent, 0.0);
            EXPECT_EQ(m.ep_percent, 0.0);
            EXPECT_EQ(m.mre_percent, 0.0);
            EXPECT_EQ(m.mse, 0.0);
            EXPECT_EQ(m.bias, 0.0);
        }
}

TEST(LoaAdd, HandWorkedUnsignedExamples) {
    const LoaAdd b = P<LoaAdd>().b("signed", false).i("bits", 8).i("k", 4).make();
    // 0x1B + 0x0E: low 1011 | 1110 = 1111; carry-in a3 & b3 = 1; upper 0001 + 0000 + 1 = 0010 -> 0x2F.
    EXPECT_EQ(b.apply(0x1B, 0x0E), 0x2F);
    // 5 + 3: low 0101 | 0011 = 0111; carry-in a3 & b3 = 0; upper 0 -> 7.
    EXPECT_EQ(b.apply(5, 3), 7);
    // 255 + 255: low 1111; carry-in 1; upper 1111 + 1111 + 1 = 11111 -> 1 1111 1111 = 511.
    EXPECT_EQ(b.apply(255, 255), 511);
    EXPECT_EQ(b.apply(0xF0, 0x10), 0x100);  // low bits zero: exact
}

TEST(LoaAdd, HandWorkedSignedExamples) {
    const LoaAdd b = P<LoaAdd>().b("signed", true).i("bits", 8).i("k", 4).make();
    // -1 + 1 on 9 bits: 1 1111 1111 + 0 0000 0001: low 1111 | 0001 = 1111, carry-in a3 & b3 = 0,
    // upper 11111 + 00000 = 11111 -> 1 1111 1111 = -1.
    EXPECT_EQ(b.apply(-1, 1), -1);
    // -8 + -8: low 1000 | 1000 = 1000, carry-in 1, upper 11111 + 11111 + 1 = 1 11111 -> 11111
    // (mod 2^5) -> 1 1111 1000 = -8.
    EXPECT_EQ(b.apply(-8, -8), -8);
    // -128 + -128: low bits 0, exact -256.
    EXPECT_EQ(b.apply(-128, -128), -256);
    // 127 + 127: low 1111 | 1111 = 1111, carry-in 1, upper 00111 + 00111 + 1 = 01111 -> 0 1111 1111 = 255.
    EXPECT_EQ(b.apply(127, 127), 255);
}

TEST(LoaAdd, KZeroIsExactAndOutputFitsBitsPlusOne) {
    for (bool s : {false, true}) {
        const LoaAdd exact = P<LoaAdd>().b("signed", s).i("k", 0).make();
        EXPECT_EQ(hawx::characterize(exact).mae, 0.0);
        for (int k : {1, 4, 8}) {
            const LoaAdd b = P<LoaAdd>().b("signed", s).i("k", k).make();
            const int lo = s ? -256 : 0, hi = s ? 255 : 511;
            for_all_pairs(b, [&](int a, int w) {
                const int r = b.apply(a, w);
                ASSERT_GE(r, lo);
                ASSERT_LE(r, hi);
                // LOA error: carry-in * 2^k - (a_low & b_low), in [-(2^k - 1), 2^(k-1)].
                ASSERT_LE(r - (a + w), 1 << (k - 1)) << a << "+" << w;
                ASSERT_GE(r - (a + w), -((1 << k) - 1)) << a << "+" << w;
            });
        }
    }
}

TEST(TruncatedAdd, BiasMaeAndWceMatchTheClosedForm) {
    // Error = -(a mod 2^k) - (b mod 2^k): bias -(2^k - 1), MAE 2^k - 1, WCE 2 (2^k - 1).
    for (bool s : {false, true})
        for (int bits : {4, 8})
            for (int k = 0; k < bits; ++k) {
                SCOPED_TRACE("signed=" + std::to_string(s) + " bits=" + std::to_string(bits) + " k=" + std::to_string(k));
                const TruncatedAdd b = P<TruncatedAdd>().b("signed", s).i("bits", bits).i("k", k).make();
                const hawx::ErrorMetrics m = hawx::characterize(b);
                const double expected = (1 << k) - 1;
                EXPECT_DOUBLE_EQ(m.bias, -expected);
                EXPECT_DOUBLE_EQ(m.mae, expected);
                EXPECT_EQ(m.wce, 2 * expected);
            }
}

TEST(TruncatedAdd, HandWorkedExamplesAndFullTruncation) {
    const TruncatedAdd b = P<TruncatedAdd>().b("signed", true).i("bits", 8).i("k", 3).make();
    EXPECT_EQ(b.apply(13, 6), 8);        // 1101 -> 1000, 0110 -> 0000
    EXPECT_EQ(b.apply(-1, -1), -16);     // 1111 1111 -> 1111 1000 = -8, twice
    const TruncatedAdd all = P<TruncatedAdd>().b("signed", true).i("bits", 8).i("k", 8).make();
    for_all_pairs(all, [&](int a, int w) { ASSERT_EQ(all.apply(a, w), 0); });
}

}  // namespace
