// Exact integer low-rank decomposition of block error tables (hawx/engine/separable.hpp).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <hawx/blocks/bam_mul.hpp>
#include <hawx/blocks/drum_mul.hpp>
#include <hawx/blocks/exact_mul.hpp>
#include <hawx/blocks/mitchell_mul.hpp>
#include <hawx/blocks/truncated_mul.hpp>
#include <hawx/engine/separable.hpp>
#include <hawx/sdk/block.hpp>
#include <hawx/sdk/error.hpp>
#include <hawx/sdk/params.hpp>

namespace {

using hawx::engine::error_table;
using hawx::engine::factorize_error;
using hawx::engine::SeparableForm;
using namespace hawx::blocks;
using Table = std::vector<std::int64_t>;

// A block of type T from its declared defaults (signed 8-bit) plus overrides.
template <class T>
T make(std::vector<std::pair<std::string, hawx::ParamValue>> overrides = {}) {
    hawx::Params p;
    for (const auto& s : T::describe().params)
        if (s.default_value) p.set(s.name, *s.default_value);
    for (auto& [k, v] : overrides) p.set(k, std::move(v));
    return T(p);
}
std::pair<std::string, hawx::ParamValue> I(const char* k, std::int64_t v) { return {k, v}; }
std::pair<std::string, hawx::ParamValue> B(const char* k, bool v) { return {k, v}; }

Table errors_of(const hawx::ApproxBlock& b) { return error_table(hawx::block_table(b), b.is_signed()); }

// Rank over Z/p (p = 2^31 - 1). Never above the rank over Q (a nonzero minor mod p is a
// nonzero minor), so rank_mod_p > max_rank proves that no rank <= max_rank form exists.
int rank_mod_p(const Table& e) {
    constexpr std::int64_t p = 2147483647;
    std::vector<std::int64_t> m(e.size());
    for (std::size_t i = 0; i < e.size(); ++i) m[i] = ((e[i] % p) + p) % p;
    auto pw = [&](std::int64_t b, std::int64_t x) {
        std::int64_t r = 1;
        for (; x; x >>= 1, b = b * b % p)
            if (x & 1) r = r * b % p;
        return r;
    };
    int rank = 0;
    for (int col = 0; col < 256 && rank < 256; ++col) {
        int piv = -1;
        for (int r = rank; r < 256 && piv < 0; ++r)
            if (m[static_cast<std::size_t>(r * 256 + col)] != 0) piv = r;
        if (piv < 0) continue;
        for (int c = 0; c < 256; ++c)
            std::swap(m[static_cast<std::size_t>(piv * 256 + c)], m[static_cast<std::size_t>(rank * 256 + c)]);
        const std::int64_t inv = pw(m[static_cast<std::size_t>(rank * 256 + col)], p - 2);
        for (int r = rank + 1; r < 256; ++r) {
            const std::int64_t f = m[static_cast<std::size_t>(r * 256 + col)] * inv % p;
            if (f == 0) continue;
            for (int c = col; c < 256; ++c) {
                auto& x = m[static_cast<std::size_t>(r * 256 + c)];
                x = ((x - f * m[static_cast<std::size_t>(rank * 256 + c)]) % p + p) % p;
            }
        }
        ++rank;
    }
    return rank;
}

// Checks the contract of a found form: shapes, exactness, term_bound >= max |E|.
void expect_valid(const SeparableForm& f, const Table& e) {
    ASSERT_EQ(f.u.size(), static_cast<std::size_t>(f.rank) * 256);
    ASSERT_EQ(f.v.size(), static_cast<std::size_t>(f.rank) * 256);
    EXPECT_TRUE(f.reproduces(e));
    std::int64_t max_e = 0;
    for (auto x : e) max_e = std::max(max_e, x < 0 ? -x : x);
    EXPECT_GE(f.term_bound(), max_e);  // |E| = |sum u v| <= sum max|u| max|v|
}

std::optional<SeparableForm> factorize_timed(const Table& e, int max_rank, double* seconds = nullptr) {
    const auto t0 = std::chrono::steady_clock::now();
    auto f = factorize_error(e, max_rank);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (seconds) *seconds = s;
    return f;
}

TEST(Separable, ExactMultiplierHasRankZero) {
    for (bool s : {true, false}) {
        const Table e = errors_of(make<ExactMul>({B("signed", s)}));
        const auto f = factorize_error(e, 8);
        ASSERT_TRUE(f.has_value());
        EXPECT_EQ(f->rank, 0);
        EXPECT_TRUE(f->u.empty());
        EXPECT_TRUE(f->v.empty());
        EXPECT_EQ(f->term_bound(), 0);
        EXPECT_TRUE(f->reproduces(e));
    }
    // max_rank 0 still admits an exact block, and nothing else.
    EXPECT_TRUE(factorize_error(errors_of(make<ExactMul>()), 0).has_value());
    EXPECT_FALSE(factorize_error(errors_of(make<TruncatedMul>({I("k", 1)})), 0).has_value());
}

TEST(Separable, ErrorTableIsTableMinusProduct) {
    const TruncatedMul b = make<TruncatedMul>({I("k", 4)});
    const auto t = hawx::block_table(b);
    const Table e = error_table(t, true);
    for (std::int32_t a = -128; a < 128; ++a)
        for (std::int32_t w = -128; w < 128; ++w) {
            const std::size_t k = (hawx::value_to_code(a, 8) << 8) | hawx::value_to_code(w, 8);
            ASSERT_EQ(e[k], b.apply(a, w) - a * w) << a << "*" << w;
        }
    EXPECT_THROW(error_table(std::vector<std::int32_t>(100), true), hawx::Error);
    EXPECT_THROW(factorize_error(Table(100), 4), hawx::Error);
    EXPECT_THROW(factorize_error(e, -1), hawx::Error);
}

// truncated_mul(k) drops the cells i + j < k. For k <= 7 (signed) those cells all have
// i, j < 7, so none is a complemented Baugh-Wooley cell and the output never wraps:
//     E = -sum_{i+j<k} 2^(i+j) a_i w_j = -a^T D H D w,  D = diag(2^i), H_ij = [i + j < k],
// and H restricted to i, j < k is anti-triangular with ones on its anti-diagonal: rank k.
// Unsigned, k <= 16: H over i, j < 8 has rows [j < min(8, k - i)], nested steps whose
// distinct nonzero lengths number min(k, 16 - k): that is the rank.
TEST(Separable, TruncatedMulHasTheDerivedRank) {
    for (bool s : {true, false})
        for (int k : {1, 2, 3, 4, 5, 6, 7}) {
            SCOPED_TRACE("signed=" + std::to_string(s) + " k=" + std::to_string(k));
            const Table e = errors_of(make<TruncatedMul>({B("signed", s), I("k", k)}));
            const auto f = factorize_error(e, 16);
            ASSERT_TRUE(f.has_value());
            expect_valid(*f, e);
            EXPECT_EQ(f->rank, k);
            EXPECT_EQ(f->method, "bit-bilinear");
        }
    for (int k : {8, 10, 12, 15}) {
        SCOPED_TRACE("unsigned k=" + std::to_string(k));
        const Table e = errors_of(make<TruncatedMul>({B("signed", false), I("k", k)}));
        const auto f = factorize_error(e, 16);
        ASSERT_TRUE(f.has_value());
        expect_valid(*f, e);
        EXPECT_EQ(f->rank, std::min(k, 16 - k));
    }
}

// The minimal term_bound is at least max|E|, and for truncated_mul(k) u_i = a_i,
// v_i = -2^i (w mod 2^(k-i)) attains it: sum_i (2^k - 2^i) = max|E| (all low bits set).
TEST(Separable, TruncatedMulTermBoundIsOptimal) {
    for (int k : {2, 4, 6}) {
        SCOPED_TRACE("k=" + std::to_string(k));
        const Table e = errors_of(make<TruncatedMul>({I("k", k)}));
        const auto f = factorize_error(e, 16);
        ASSERT_TRUE(f.has_value());
        EXPECT_EQ(f->term_bound(), k * (std::int64_t{1} << k) - ((std::int64_t{1} << k) - 1));
    }
}

// bam_mul(hbl, vbl), signed: E = c0 + sum over dropped cells of -2^(i+j) a_i w_j, or
// +2^(i+j) a_i w_j for a dropped complemented cell (its bit is 1 - a_i w_j), whose 1 goes to
// the constant c0 = -sum 2^(i+j) over dropped complemented cells. In the bits basis
// (1, b0..b7) C is block-diagonal: c0 and M = D S D (S the signed dropped pattern), so
// rank = rank(S) + [c0 != 0]. The output cannot wrap here (every error term is <= 0 and
// the largest drop, about 2^11, is far from the -2^15 limit), so E is exactly bilinear.
//  - hbl=1 vbl=6: column w_0 of S is all dropped (sign + at i=7, the only entry in row
//    7), columns w_1..w_5 are steps of lengths 5..1: rank(S) = 6; c0 = -2^7: rank 7.
//  - hbl=2 vbl=8: columns w_0, w_1 equal (count once), w_2..w_6 steps of lengths 6..2,
//    w_7 the complemented cell (0,7) alone (a step of length 1): rank(S) = 7;
//    c0 = -(2^7 + 2^8 + 2^7): rank 8.
//  - hbl=1 vbl=0: just row w_0: rank(S) = 1; c0 = -2^7: rank 2.
//  - hbl=0 vbl=4 is truncated_mul(4): rank 4.
//  - hbl=3 vbl=0: rows w_0..w_2, all the same pattern: rank(S) = 1, c0 = -(2^7+2^8+2^9): 2.
// Unsigned, no complemented cells or constant: hbl=2 vbl=8 has rank 1 + 6 = 7.
TEST(Separable, BamMulHasTheDerivedRank) {
    struct Case {
        bool is_signed;
        int hbl, vbl, rank;
    };
    for (const Case c : {Case{true, 1, 6, 7}, Case{true, 2, 8, 8}, Case{true, 1, 0, 2}, Case{true, 0, 4, 4},
                         Case{true, 3, 0, 2}, Case{false, 2, 8, 7}, Case{false, 1, 6, 6}}) {
        SCOPED_TRACE("signed=" + std::to_string(c.is_signed) + " hbl=" + std::to_string(c.hbl) +
                     " vbl=" + std::to_string(c.vbl));
        const Table e = errors_of(make<BamMul>({B("signed", c.is_signed), I("hbl", c.hbl), I("vbl", c.vbl)}));
        const auto f = factorize_error(e, 16);
        ASSERT_TRUE(f.has_value());
        expect_valid(*f, e);
        EXPECT_EQ(f->rank, c.rank);
        EXPECT_LE(f->rank, 9);  // any bit-bilinear table: rank(C) <= 9
        EXPECT_EQ(f->method, "bit-bilinear");
        // Too small a max_rank must fail rather than return something wrong.
        EXPECT_FALSE(factorize_error(e, c.rank - 1).has_value());
    }
}

// Random integer rank-R tables: E = sum_r u_r v_r^T with random small integer u, v.
TEST(Separable, SyntheticLowRankIsRecoveredExactly) {
    std::mt19937_64 rng(12345);
    for (int R = 1; R <= 4; ++R)
        for (int rep = 0; rep < 3; ++rep) {
            SCOPED_TRACE("R=" + std::to_string(R) + " rep=" + std::to_string(rep));
            std::uniform_int_distribution<int> d(-40, 40);
            std::vector<std::int64_t> u(static_cast<std::size_t>(R) * 256), v(u.size());
            for (auto& x : u) x = d(rng);
            for (auto& x : v) x = d(rng);
            Table e(65536, 0);
            for (int r = 0; r < R; ++r)
                for (std::size_t a = 0; a < 256; ++a)
                    for (std::size_t w = 0; w < 256; ++w) e[a * 256 + w] += u[r * 256 + a] * v[r * 256 + w];
            const auto f = factorize_error(e, 8);
            ASSERT_TRUE(f.has_value());
            expect_valid(*f, e);
            EXPECT_EQ(f->rank, R);
            EXPECT_FALSE(factorize_error(e, R - 1).has_value());
            // Deterministic: the same input gives the same form.
            const auto g = factorize_error(e, 8);
            ASSERT_TRUE(g.has_value());
            EXPECT_EQ(f->u, g->u);
            EXPECT_EQ(f->v, g->v);
        }
}

// The smallest rows of E need not span its row lattice: here u_r(a) is even for every code
// but 255, so rows of small codes generate only a sublattice of index > 1 and the lattice
// must be refined (rational coordinates with denominator 2) to keep P integer.
TEST(Separable, RowsThatSpanOnlyASublatticeAreHandled) {
    std::mt19937_64 rng(4242);
    std::uniform_int_distribution<int> d(-6, 6);
    for (int R : {1, 2, 3}) {
        SCOPED_TRACE("R=" + std::to_string(R));
        std::vector<std::int64_t> u(static_cast<std::size_t>(R) * 256), v(u.size());
        for (auto& x : u) x = 2 * d(rng);
        for (int r = 0; r < R; ++r) u[static_cast<std::size_t>(r) * 256 + 255] = 2 * d(rng) + 1;
        for (auto& x : v) x = d(rng);
        Table e(65536, 0);
        for (int r = 0; r < R; ++r)
            for (std::size_t a = 0; a < 256; ++a)
                for (std::size_t w = 0; w < 256; ++w) e[a * 256 + w] += u[r * 256 + a] * v[r * 256 + w];
        const auto f = factorize_error(e, 8);
        ASSERT_TRUE(f.has_value());
        expect_valid(*f, e);
        EXPECT_EQ(f->rank, R);
    }
}

TEST(Separable, FullRankNoiseIsRejected) {
    std::mt19937_64 rng(777);
    std::uniform_int_distribution<int> d(-1000, 1000);
    Table e(65536);
    for (auto& x : e) x = d(rng);
    EXPECT_FALSE(factorize_error(e, 8).has_value());
    EXPECT_GT(rank_mod_p(e), 8);
}

TEST(Separable, OversizedValuesAreRejectedNotMisfactorized) {
    Table e(65536, 0);
    e[3] = std::int64_t{1} << 50;  // rank 1, but beyond the safe magnitude
    EXPECT_FALSE(factorize_error(e, 8).has_value());
}

// E = bits(a)^T C bits(w) with C = x y^T + z t^T of rank 2 (bits = (1, b0..b7) of the code).
TEST(Separable, BitBilinearTableFromRankTwoC) {
    std::mt19937_64 rng(99);
    std::uniform_int_distribution<int> d(-9, 9);
    for (int rep = 0; rep < 5; ++rep) {
        SCOPED_TRACE("rep=" + std::to_string(rep));
        std::int64_t x[9], y[9], z[9], t[9];
        for (int i = 0; i < 9; ++i) x[i] = d(rng), y[i] = d(rng), z[i] = d(rng), t[i] = d(rng);
        x[1] = 1, y[2] = 1, z[1] = 0, z[3] = 1, t[2] = 0, t[4] = 1;  // make C surely rank 2
        auto bit = [](int code, int i) -> std::int64_t { return i == 0 ? 1 : (code >> (i - 1)) & 1; };
        Table e(65536);
        for (int a = 0; a < 256; ++a)
            for (int w = 0; w < 256; ++w) {
                std::int64_t s = 0;
                for (int i = 0; i < 9; ++i)
                    for (int j = 0; j < 9; ++j) s += bit(a, i) * (x[i] * y[j] + z[i] * t[j]) * bit(w, j);
                e[static_cast<std::size_t>(a * 256 + w)] = s;
            }
        const auto f = factorize_error(e, 8);
        ASSERT_TRUE(f.has_value());
        expect_valid(*f, e);
        EXPECT_EQ(f->rank, 2);
        EXPECT_EQ(f->method, "bit-bilinear");
    }
}

// Not a partial-product design, but DRUM multiplies the reduced operands exactly:
// T = f(a) f(w) with f(x) = sign(x) reduce(|x|), so E = f(a) f(w) - a w has rank <= 2, and
// exactly 2 for k < 8 (f is then not a multiple of the identity).
TEST(Separable, DrumMulHasRankTwo) {
    for (bool s : {true, false})
        for (int k : {3, 4, 6, 7}) {
            SCOPED_TRACE("signed=" + std::to_string(s) + " k=" + std::to_string(k));
            const Table e = errors_of(make<DrumMul>({B("signed", s), I("k", k)}));
            const auto f = factorize_error(e, 8);
            ASSERT_TRUE(f.has_value());
            expect_valid(*f, e);
            EXPECT_EQ(f->rank, 2);
        }
}

// DRUM and Mitchell are not partial-product designs: no promise of a low rank; only
// consistency (found => exact; not found => the rank really is above max_rank).
TEST(Separable, DrumAndMitchellAreConsistent) {
    std::vector<std::pair<std::string, Table>> cases;
    for (int k : {3, 4, 6, 7})
        cases.emplace_back("drum_mul k=" + std::to_string(k), errors_of(make<DrumMul>({I("k", k)})));
    cases.emplace_back("mitchell_mul", errors_of(make<MitchellMul>()));
    cases.emplace_back("mitchell_mul frac_bits=2", errors_of(make<MitchellMul>({I("frac_bits", 2)})));
    for (const auto& [name, e] : cases)
        for (int max_rank : {8, 32}) {
            SCOPED_TRACE(name + " max_rank=" + std::to_string(max_rank));
            const auto f = factorize_error(e, max_rank);
            const int rank_p = rank_mod_p(e);
            std::cout << "  " << name << " max_rank=" << max_rank << ": rank mod p " << rank_p << ", "
                      << (f ? "found rank " + std::to_string(f->rank) + " (" + f->method + ") term_bound " +
                                  std::to_string(f->term_bound())
                            : std::string("not found"))
                      << "\n";
            if (f) {
                expect_valid(*f, e);
                EXPECT_LE(f->rank, max_rank);
            } else {
                EXPECT_GT(rank_p, max_rank);
            }
        }
}

// The block variants of experiments/default.json (all signed 8-bit): rank, method,
// term_bound and timing, printed; each found form checked.
TEST(Separable, DefaultExperimentBlocks) {
    struct Case {
        std::string name;
        Table e;
    };
    std::vector<Case> cases;
    cases.push_back({"core.exact_mul", errors_of(make<ExactMul>())});
    for (int k : {2, 4, 6})
        cases.push_back({"core.truncated_mul k=" + std::to_string(k), errors_of(make<TruncatedMul>({I("k", k)}))});
    cases.push_back({"core.bam_mul hbl=1 vbl=6", errors_of(make<BamMul>({I("hbl", 1), I("vbl", 6)}))});
    cases.push_back({"core.bam_mul hbl=2 vbl=8", errors_of(make<BamMul>({I("hbl", 2), I("vbl", 8)}))});
    cases.push_back({"core.drum_mul k=6", errors_of(make<DrumMul>({I("k", 6)}))});
    cases.push_back({"core.drum_mul k=4", errors_of(make<DrumMul>({I("k", 4)}))});
    cases.push_back({"core.mitchell_mul", errors_of(make<MitchellMul>())});
    const int max_rank = 16;
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        double sec = 0;
        const auto f = factorize_timed(c.e, max_rank, &sec);
        char line[200];
        if (f) {
            expect_valid(*f, c.e);
            std::snprintf(line, sizeof line, "  %-26s rank %2d  %-15s term_bound %6lld  %.1f ms", c.name.c_str(),
                          f->rank, f->method.c_str(), static_cast<long long>(f->term_bound()), sec * 1e3);
        } else {
            EXPECT_GT(rank_mod_p(c.e), max_rank);
            std::snprintf(line, sizeof line, "  %-26s none at max_rank %d (rank mod p %d)  %.1f ms", c.name.c_str(),
                          max_rank, rank_mod_p(c.e), sec * 1e3);
        }
        std::cout << line << "\n";
    }
}

}  // namespace
