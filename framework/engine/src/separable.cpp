#include "hawx/engine/separable.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include <hawx/sdk/block.hpp>
#include <hawx/sdk/error.hpp>

namespace hawx::engine {

namespace {

__extension__ typedef __int128 i128;

constexpr int kCodes = 256;
constexpr std::size_t kTable = std::size_t{kCodes} * kCodes;
// Values passed between steps (table entries, basis entries, coefficients, u and v) stay
// within 2^40 in magnitude, so products of two of them and sums of many such products fit
// in __int128 with room to spare; past it we give up (nullopt) rather than risk overflow.
// The few places with wider transients say so and check their own bounds.
constexpr i128 kLimit = i128{1} << 40;
constexpr int kBits = 9;  // bits(x) = (1, b0, ..., b7)
// Work allowed to the magnitude search per candidate (vector entries visited, about a
// nanosecond each); the built-in blocks converge with a small fraction of it.
constexpr long kSearchBudget = 2'000'000;

i128 abs128(i128 x) { return x < 0 ? -x : x; }
bool in_limit(i128 x) { return abs128(x) <= kLimit; }
std::int64_t abs64(std::int64_t x) { return x < 0 ? -x : x; }

// Nearest integer to a / b (b != 0), ties toward +infinity.
i128 round_div(i128 a, i128 b) {
    if (b < 0) a = -a, b = -b;
    const i128 n = 2 * a + b, d = 2 * b;
    return n >= 0 ? n / d : -((-n + d - 1) / d);
}

using Row = std::vector<i128>;

// x += m * h over the whole row; false when an entry leaves the limit.
bool axpy(Row& x, i128 m, const Row& h) {
    if (m == 0) return true;
    if (!in_limit(m)) return false;
    for (std::size_t k = 0; k < x.size(); ++k) {
        x[k] += m * h[k];
        if (!in_limit(x[k])) return false;
    }
    return true;
}

// Row-echelon basis of an integer row lattice in Hermite normal form (positive pivots,
// entries above each pivot reduced to [-p/2, p/2]).
struct Basis {
    int cols = 0;
    std::vector<Row> rows;
    std::vector<int> piv;

    int rank() const { return static_cast<int>(rows.size()); }

    // Integer coefficients c with x = sum_r c[r] * rows[r] on the lattice columns (x has
    // `cols` entries); false when x is not in the lattice or a value exceeds the limit.
    // The pivots make the system triangular, so c is unique and found by forward division.
    bool solve(Row x, Row& c) const {
        c.assign(rows.size(), 0);
        for (std::size_t r = 0; r < rows.size(); ++r) {
            const auto p = static_cast<std::size_t>(piv[r]);
            for (std::size_t k = r == 0 ? 0 : static_cast<std::size_t>(piv[r - 1]) + 1; k < p; ++k)
                if (x[k] != 0) return false;
            if (x[p] % rows[r][p] != 0) return false;
            c[r] = x[p] / rows[r][p];
            if (!in_limit(c[r])) return false;
            for (std::size_t k = p; k < static_cast<std::size_t>(cols); ++k) {
                x[k] -= c[r] * rows[r][k];
                if (!in_limit(x[k])) return false;
            }
        }
        for (int k = 0; k < cols; ++k)
            if (x[static_cast<std::size_t>(k)] != 0) return false;
        return true;
    }
};

// Hermite basis of the lattice spanned by `rows`, column by column over all rows at once:
// in each column a Euclid-style reduction (every other row minus the nearest multiple of the
// row with the smallest nonzero entry, repeated) leaves a single row with a nonzero entry,
// the gcd of the column, which becomes the pivot. Only unimodular row operations are used,
// so the basis spans exactly the input lattice. Used on a basis (independent rows), where it
// only changes the basis; entries can still grow, and past the limit we give up.
bool hermite_basis(std::vector<Row> rows, int cols, Basis& out) {
    out = Basis{cols, {}, {}};
    auto nonzero_at = [](const Row& x, int c) { return x[static_cast<std::size_t>(c)] != 0; };
    auto lattice_zero = [&](const Row& x) {
        for (int c = 0; c < cols; ++c)
            if (nonzero_at(x, c)) return false;
        return true;
    };
    rows.erase(std::remove_if(rows.begin(), rows.end(), lattice_zero), rows.end());
    for (int c = 0; c < cols && !rows.empty(); ++c) {
        const auto k = static_cast<std::size_t>(c);
        std::size_t pivot = rows.size();
        for (;;) {
            pivot = rows.size();
            for (std::size_t i = 0; i < rows.size(); ++i)
                if (rows[i][k] != 0 && (pivot == rows.size() || abs128(rows[i][k]) < abs128(rows[pivot][k]))) pivot = i;
            if (pivot == rows.size()) break;
            bool again = false;
            for (std::size_t i = 0; i < rows.size(); ++i) {
                if (i == pivot || rows[i][k] == 0) continue;
                if (!axpy(rows[i], -round_div(rows[i][k], rows[pivot][k]), rows[pivot])) return false;
                again = again || rows[i][k] != 0;
            }
            if (!again) break;
        }
        if (pivot == rows.size()) continue;
        out.rows.push_back(std::move(rows[pivot]));
        out.piv.push_back(c);
        rows.erase(rows.begin() + static_cast<std::ptrdiff_t>(pivot));
        rows.erase(std::remove_if(rows.begin(), rows.end(), lattice_zero), rows.end());
    }
    // Hermite reduction (unimodular too): positive pivots, then each row reduced by the rows
    // below it at their pivots, top-down per pivot so later reductions do not undo earlier ones.
    for (std::size_t r = 0; r < out.rows.size(); ++r)
        if (out.rows[r][static_cast<std::size_t>(out.piv[r])] < 0)
            for (auto& e : out.rows[r]) e = -e;
    for (std::size_t j = 0; j < out.rows.size(); ++j) {
        const auto p = static_cast<std::size_t>(out.piv[j]);
        for (std::size_t i = 0; i < j; ++i)
            if (!axpy(out.rows[i], -round_div(out.rows[i][p], out.rows[j][p]), out.rows[j])) return false;
    }
    return true;
}

// (x0, x1) <- (x1, x0 - q * x1): one step of the (extended) Euclidean algorithm.
void euclid_step(i128& x0, i128& x1, i128 q) {
    const i128 next = x0 - q * x1;
    x0 = x1;
    x1 = next;
}

// g = gcd(a, b) >= 0 and s, t with s * a + t * b = g (|s|, |t| <= max(|a|, |b|)).
void ext_gcd(i128 a, i128 b, i128& g, i128& s, i128& t) {
    i128 r0 = a, r1 = b, s0 = 1, s1 = 0, t0 = 0, t1 = 1;
    while (r1 != 0) {
        const i128 q = r0 / r1;
        euclid_step(r0, r1, q);
        euclid_step(s0, s1, q);
        euclid_step(t0, t1, q);
    }
    if (r0 < 0) r0 = -r0, s0 = -s0, t0 = -t0;
    g = r0, s = s0, t = t0;
}

i128 gcd128(i128 a, i128 b) {
    a = abs128(a), b = abs128(b);
    while (b != 0) {
        const i128 t = a % b;
        a = b, b = t;
    }
    return a;
}

// Arithmetic modulo the Mersenne prime p = 2^61 - 1.
using u64 = std::uint64_t;
constexpr u64 kP = (u64{1} << 61) - 1;
u64 mod_p(i128 x) {
    i128 r = x % static_cast<i128>(kP);
    return static_cast<u64>(r < 0 ? r + static_cast<i128>(kP) : r);
}
u64 mul_p(u64 a, u64 b) {
    const unsigned __int128 z = static_cast<unsigned __int128>(a) * b;
    const u64 s = (static_cast<u64>(z) & kP) + static_cast<u64>(z >> 61);
    return s >= kP ? s - kP : s;
}
u64 sub_p(u64 a, u64 b) { return a >= b ? a - b : a + kP - b; }
u64 inv_p(u64 a) {
    u64 r = 1;
    for (u64 e = kP - 2; e != 0; e >>= 1, a = mul_p(a, a))
        if (e & 1) r = mul_p(r, a);
    return r;
}
// The fraction n/d (d > 0, |n|, d <= 2^30) congruent to a mod p, by the half extended
// Euclid (Wang's rational reconstruction); false when there is none within the bounds.
bool rational_from_p(u64 a, i128& n, i128& d) {
    constexpr i128 bound = i128{1} << 30;
    i128 r0 = static_cast<i128>(kP), r1 = static_cast<i128>(a), t0 = 0, t1 = 1;
    while (r1 > bound) {
        const i128 q = r0 / r1;
        euclid_step(r0, r1, q);
        euclid_step(t0, t1, q);
    }
    if (t1 == 0 || abs128(t1) > bound) return false;
    n = t1 < 0 ? -r1 : r1;
    d = abs128(t1);
    return gcd128(n, d) == 1;
}

// M = P Q with P (rows x rank) and Q (rank x cols), integer.
struct Factorization {
    int rank = 0;
    std::vector<i128> p;  // p[i * rank + r]
    std::vector<i128> q;  // q[r * cols + j]
};

// A dense integer matrix, row-major.
struct Matrix {
    int rows = 0, cols = 0;
    std::vector<std::int64_t> a;
    std::int64_t at(int i, int j) const {
        return a[static_cast<std::size_t>(i) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(j)];
    }
    Matrix transposed() const {
        Matrix t{cols, rows, std::vector<std::int64_t>(a.size())};
        for (int i = 0; i < rows; ++i)
            for (int j = 0; j < cols; ++j)
                t.a[static_cast<std::size_t>(j) * static_cast<std::size_t>(rows) + static_cast<std::size_t>(i)] =
                    at(i, j);
        return t;
    }
    Row row(int i, int width) const {
        Row r(static_cast<std::size_t>(width), 0);
        for (int j = 0; j < cols; ++j) r[static_cast<std::size_t>(j)] = at(i, j);
        return r;
    }
};

// Independent rows of M mod p, picked greedily in `order` (hence independent over Q too),
// with pivot columns `piv` such that M[gens][piv] is invertible mod p. False as soon as more
// than max_rank are found (the rank over Q is at least the rank mod p).
bool rank_profile(const Matrix& m, const std::vector<int>& order, int max_rank, std::vector<int>& gens,
                  std::vector<int>& piv) {
    const auto cols = static_cast<std::size_t>(m.cols);
    std::vector<std::vector<u64>> basis;  // reduced row echelon form mod p
    std::vector<u64> x(cols);
    for (int i : order) {
        bool nonzero = false;
        for (std::size_t k = 0; k < cols; ++k) nonzero |= (x[k] = mod_p(m.at(i, static_cast<int>(k)))) != 0;
        if (!nonzero) continue;
        for (std::size_t b = 0; b < basis.size(); ++b) {
            const u64 f = x[static_cast<std::size_t>(piv[b])];
            if (f == 0) continue;
            for (std::size_t k = 0; k < cols; ++k)
                if (basis[b][k] != 0) x[k] = sub_p(x[k], mul_p(f, basis[b][k]));
        }
        std::size_t lead = 0;
        while (lead < cols && x[lead] == 0) ++lead;
        if (lead == cols) continue;
        const u64 s = inv_p(x[lead]);
        for (auto& e : x) e = mul_p(e, s);
        for (auto& b : basis) {
            const u64 f = b[lead];
            if (f == 0) continue;
            for (std::size_t k = 0; k < cols; ++k)
                if (x[k] != 0) b[k] = sub_p(b[k], mul_p(f, x[k]));
        }
        basis.push_back(x);
        piv.push_back(static_cast<int>(lead));
        gens.push_back(i);
        if (static_cast<int>(gens.size()) > max_rank) return false;
    }
    return true;
}

// Inverse of the R x R matrix a mod p (row-major); false when singular.
bool invert_p(std::vector<u64> a, std::size_t n, std::vector<u64>& inv) {
    inv.assign(n * n, 0);
    for (std::size_t i = 0; i < n; ++i) inv[i * n + i] = 1;
    for (std::size_t c = 0; c < n; ++c) {
        std::size_t r = c;
        while (r < n && a[r * n + c] == 0) ++r;
        if (r == n) return false;
        for (std::size_t k = 0; k < n; ++k) {
            std::swap(a[r * n + k], a[c * n + k]);
            std::swap(inv[r * n + k], inv[c * n + k]);
        }
        const u64 s = inv_p(a[c * n + c]);
        for (std::size_t k = 0; k < n; ++k) {
            a[c * n + k] = mul_p(a[c * n + k], s);
            inv[c * n + k] = mul_p(inv[c * n + k], s);
        }
        for (std::size_t i = 0; i < n; ++i) {
            const u64 f = a[i * n + c];
            if (i == c || f == 0) continue;
            for (std::size_t k = 0; k < n; ++k) {
                a[i * n + k] = sub_p(a[i * n + k], mul_p(f, a[c * n + k]));
                inv[i * n + k] = sub_p(inv[i * n + k], mul_p(f, inv[c * n + k]));
            }
        }
    }
    return true;
}

// Bounds for hnf_insert: rows of H, and y when a column step starts, stay within kRowMax
// (entries are reduced modulo pivots, which divide delta <= 2^40); transient values within
// kWide. So every product q * h (|q| <= kWide, |h| <= kRowMax) fits in __int128.
constexpr i128 kRowMax = i128{1} << 41;
constexpr i128 kWide = i128{1} << 84;

// x[c] -= q * h[c] for c >= from; false when a value leaves the bounds above.
bool sub_multiple(Row& x, i128 q, const Row& h, std::size_t from) {
    if (q == 0) return true;
    if (abs128(q) > kWide) return false;
    for (std::size_t c = from; c < x.size(); ++c) {
        if (abs128(h[c]) > kRowMax) return false;
        x[c] -= q * h[c];
        if (abs128(x[c]) > kWide) return false;
    }
    return true;
}

// Inserts y into the Hermite basis H (R x R, upper triangular, positive pivots) of a
// full-rank lattice that contains delta * Z^R. Unimodular steps only: subtracting a multiple
// of a basis row, and the extended-gcd 2x2 step [[s, t], [-y_j/g, h_jj/g]] of determinant
// 1. Every pivot divides delta (delta * e_j is in the lattice), and after each column the
// pending y and a changed row are size-reduced by the rows below, so entries stay about
// delta in size instead of growing with every step. False when a bound is exceeded.
bool hnf_insert(std::vector<Row>& h, Row y) {
    const std::size_t R = h.size();
    auto reduce_tail = [&](Row& x, std::size_t from) {
        for (std::size_t k = from; k < R; ++k)
            if (!sub_multiple(x, round_div(x[k], h[k][k]), h[k], k)) return false;
        return true;
    };
    auto small = [](const Row& x) {
        return std::all_of(x.begin(), x.end(), [](i128 e) { return abs128(e) <= kRowMax; });
    };
    bool changed = false;
    for (std::size_t j = 0; j < R; ++j) {
        if (y[j] == 0) continue;
        if (!small(y)) return false;
        const i128 hjj = h[j][j], yj = y[j];
        if (yj % hjj == 0) {
            if (!sub_multiple(y, yj / hjj, h[j], j)) return false;
        } else {
            i128 g, s, t;  // |s|, |t| <= kRowMax
            ext_gcd(hjj, yj, g, s, t);
            for (std::size_t c = j; c < R; ++c) {
                const i128 nh = s * h[j][c] + t * y[c], ny = (hjj / g) * y[c] - (yj / g) * h[j][c];
                h[j][c] = nh, y[c] = ny;
            }
            if (!reduce_tail(h[j], j + 1)) return false;
            changed = true;
        }
        if (!reduce_tail(y, j + 1)) return false;
    }
    if (changed)  // rows above a changed pivot: reduce them again, top-down per pivot
        for (std::size_t j = 0; j < R; ++j)
            for (std::size_t i = 0; i < j; ++i)
                if (!sub_multiple(h[i], round_div(h[i][j], h[j][j]), h[j], j)) return false;
    return std::all_of(h.begin(), h.end(), small);
}

// An exact integer rank factorization of M built on R = rank(M) of its own rows G
// (independent ones, smallest first), then the same lattice in Hermite form; empty when the
// rank exceeds max_rank (rank_exceeded set) or a value exceeds what we handle.
//
// Why P is integer. Every row x of M is x = c_x G with c_x in Q^R (G spans M's row space);
// c_x is found mod p, lifted to a fraction and checked exactly against x. The row lattice L
// of M is then Lambda G, Lambda = the lattice generated by all c_x (it contains Z^R, the
// c_x of the rows of G themselves). With delta the common denominator, H = a Hermite basis
// of delta Lambda (integer, contains delta Z^R, so its pivots divide delta), Q = H G / delta
// is a basis of L: integer, since its rows lie in L (a lattice of integer vectors). Each
// delta c_x lies in delta Lambda = span_Z(H), so it is t_x H with t_x INTEGER (the
// triangular solve divides exactly), and x = c_x G = t_x H G / delta = t_x Q: P = (t_x).
// When G already spans L, delta = 1, H = I and Q = G.
std::vector<Factorization> factor_candidates(const Matrix& m, int max_rank, bool& rank_exceeded) {
    const auto rows = static_cast<std::size_t>(m.rows), cols = static_cast<std::size_t>(m.cols);
    std::vector<int> order(rows);
    std::vector<std::int64_t> row_max(rows, 0);
    for (std::size_t i = 0; i < rows; ++i) {
        order[i] = static_cast<int>(i);
        for (std::size_t j = 0; j < cols; ++j)
            row_max[i] = std::max(row_max[i], abs64(m.at(static_cast<int>(i), static_cast<int>(j))));
    }
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
        return row_max[static_cast<std::size_t>(x)] < row_max[static_cast<std::size_t>(y)];
    });
    std::vector<int> gens, piv;
    if (!rank_profile(m, order, max_rank, gens, piv)) {
        rank_exceeded = true;
        return {};
    }
    if (gens.empty()) return {};
    const std::size_t R = gens.size();

    // c_x = x[piv] * G[:, piv]^-1 mod p, lifted to fractions num / den and verified exactly.
    std::vector<u64> gp(R * R), ginv;
    for (std::size_t k = 0; k < R; ++k)
        for (std::size_t l = 0; l < R; ++l) gp[k * R + l] = mod_p(m.at(gens[k], piv[l]));
    if (!invert_p(gp, R, ginv)) return {};
    std::vector<i128> num(rows * R), den(rows);
    i128 delta = 1;
    std::vector<u64> xp(R);
    for (std::size_t i = 0; i < rows; ++i) {
        for (std::size_t l = 0; l < R; ++l) xp[l] = mod_p(m.at(static_cast<int>(i), piv[l]));
        i128 d = 1;
        std::vector<i128> n(R), dk(R);
        for (std::size_t k = 0; k < R; ++k) {
            u64 c = 0;
            for (std::size_t l = 0; l < R; ++l) c = (c + mul_p(xp[l], ginv[l * R + k])) % kP;
            if (!rational_from_p(c, n[k], dk[k])) return {};
            d = d / gcd128(d, dk[k]) * dk[k];
            if (d > kLimit) return {};
        }
        for (std::size_t k = 0; k < R; ++k) num[i * R + k] = n[k] * (d / dk[k]);
        den[i] = d;
        for (std::size_t j = 0; j < cols; ++j) {  // d * x == num * G, exactly
            i128 s = 0;
            for (std::size_t k = 0; k < R; ++k) s += num[i * R + k] * m.at(gens[k], static_cast<int>(j));
            if (s != d * m.at(static_cast<int>(i), static_cast<int>(j))) return {};
        }
        delta = delta / gcd128(delta, d) * d;
        if (delta > kLimit) return {};
    }

    // H: Hermite basis of delta * Lambda, starting from delta * I.
    std::vector<Row> h(R, Row(R, 0));
    for (std::size_t k = 0; k < R; ++k) h[k][k] = delta;
    if (delta > 1)
        for (std::size_t i = 0; i < rows; ++i) {
            Row y(R);
            for (std::size_t k = 0; k < R; ++k) y[k] = num[i * R + k] * (delta / den[i]) % delta;
            if (!hnf_insert(h, std::move(y))) return {};
        }
    Factorization f{static_cast<int>(R), std::vector<i128>(rows * R), std::vector<i128>(R * cols)};
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t j = 0; j < cols; ++j) {
            i128 s = 0;
            for (std::size_t k = r; k < R; ++k) s += h[r][k] * m.at(gens[k], static_cast<int>(j));
            if (s % delta != 0 || !in_limit(s / delta)) return {};
            f.q[r * cols + j] = s / delta;
        }
    for (std::size_t i = 0; i < rows; ++i) {
        Row y(R);
        for (std::size_t k = 0; k < R; ++k) y[k] = num[i * R + k] * (delta / den[i]);
        for (std::size_t r = 0; r < R; ++r) {  // t H = y, H upper triangular
            if (y[r] % h[r][r] != 0) return {};
            const i128 t = y[r] / h[r][r];
            if (!in_limit(t)) return {};
            f.p[i * R + r] = t;
            for (std::size_t c = r; c < R; ++c) y[c] -= t * h[r][c];
        }
    }
    std::vector<Factorization> out{f};

    // The same lattice L in Hermite form (a different, sometimes better, starting point).
    std::vector<Row> qrows;
    for (std::size_t r = 0; r < R; ++r)
        qrows.emplace_back(f.q.begin() + static_cast<std::ptrdiff_t>(r * cols),
                           f.q.begin() + static_cast<std::ptrdiff_t>((r + 1) * cols));
    Basis hb;
    if (hermite_basis(std::move(qrows), m.cols, hb) && hb.rank() == static_cast<int>(R)) {
        Factorization g{static_cast<int>(R), std::vector<i128>(rows * R), std::vector<i128>(R * cols)};
        bool ok = true;
        Row c;
        for (std::size_t i = 0; i < rows && ok; ++i) {
            ok = hb.solve(m.row(static_cast<int>(i), m.cols), c);
            for (std::size_t r = 0; r < R && ok; ++r) g.p[i * R + r] = c[r];
        }
        if (ok) {
            for (std::size_t r = 0; r < R; ++r)
                for (std::size_t j = 0; j < cols; ++j) g.q[r * cols + j] = hb.rows[r][j];
            out.push_back(std::move(g));
        }
    }
    return out;
}

// The working form: E[a][w] = sum_r u[r][a] v[r][w], every value within the limit.
struct Terms {
    int rank = 0;
    std::vector<std::int64_t> u, v;  // rank x 256 each
    std::int64_t* U(int r) { return &u[static_cast<std::size_t>(r) * kCodes]; }
    std::int64_t* V(int r) { return &v[static_cast<std::size_t>(r) * kCodes]; }
};

std::int64_t max_abs(const std::int64_t* x) {
    std::int64_t m = 0;
    for (int k = 0; k < kCodes; ++k) m = std::max(m, abs64(x[k]));
    return m;
}

i128 bound_of(Terms& t) {
    i128 b = 0;
    for (int r = 0; r < t.rank; ++r) b += i128{max_abs(t.U(r))} * max_abs(t.V(r));
    return b;
}

// Magnitude reduction by unimodular pair moves: for r != s and an integer c,
//     v_r += c v_s,  u_s -= c u_r
// leaves sum_r u_r v_r unchanged (u_r v_r + u_s v_s = u_r (v_r + c v_s) + (u_s - c u_r) v_s).
// Greedy descent on term_bound, trying per pair c = +-1, +-2 and the least-squares steps of
// either side; stops when no move helps or `budget` (vector entries visited) is spent, so
// the cost stays bounded for any rank.
void reduce_magnitudes(Terms& t, long budget) {
    const int R = t.rank;
    if (R < 2) return;
    std::vector<i128> mu(static_cast<std::size_t>(R)), mv(static_cast<std::size_t>(R));
    for (int r = 0; r < R; ++r) {
        mu[static_cast<std::size_t>(r)] = max_abs(t.U(r));
        mv[static_cast<std::size_t>(r)] = max_abs(t.V(r));
    }
    // Max-norm of x + c y, or -1 once it exceeds `cap` (or the limit): the caller only
    // wants values below cap.
    auto combo_max = [&budget](const std::int64_t* x, const std::int64_t* y, std::int64_t c, i128 cap) -> i128 {
        const i128 stop = std::min(cap, kLimit + 1);
        std::int64_t m = 0;
        for (int k = 0; k < kCodes; ++k) {
            m = std::max(m, abs64(x[k] + c * y[k]));
            if (m >= stop) return budget -= k + 1, -1;
        }
        budget -= kCodes;
        return m;
    };
    auto ratio = [](const std::int64_t* x, const std::int64_t* y) -> std::int64_t {
        double xy = 0, yy = 0;
        for (int k = 0; k < kCodes; ++k) {
            const double xk = static_cast<double>(x[k]), yk = static_cast<double>(y[k]);
            xy += xk * yk;
            yy += yk * yk;
        }
        const double q = yy > 0 ? xy / yy : 0;
        return std::abs(q) < 1048576.0 ? static_cast<std::int64_t>(std::llround(q)) : 0;
    };
    for (bool improved = true; improved && budget > 0;) {
        improved = false;
        for (int r = 0; r < R && budget > 0; ++r)
            for (int s = 0; s < R && budget > 0; ++s) {
                if (r == s) continue;
                const auto ri = static_cast<std::size_t>(r), si = static_cast<std::size_t>(s);
                std::int64_t cands[6] = {1, -1, 2, -2, -ratio(t.V(r), t.V(s)), ratio(t.U(s), t.U(r))};
                budget -= 4 * kCodes;
                const i128 old = mu[ri] * mv[ri] + mu[si] * mv[si];
                i128 best = old, best_nv = 0, best_nu = 0;
                std::int64_t best_c = 0;
                for (int k = 0; k < 6; ++k) {
                    const std::int64_t c = cands[k];
                    if (c == 0 || std::find(cands, cands + k, c) != cands + k) continue;
                    // The new cost mu_r * nv + nu * mv_s must beat `best`: caps on nv, then nu.
                    const i128 nv =
                        combo_max(t.V(r), t.V(s), c, mu[ri] > 0 ? (best + mu[ri] - 1) / mu[ri] : kLimit + 1);
                    if (nv < 0) continue;
                    const i128 rest = best - mu[ri] * nv;
                    if (rest <= 0) continue;
                    const i128 nu =
                        combo_max(t.U(s), t.U(r), -c, mv[si] > 0 ? (rest + mv[si] - 1) / mv[si] : kLimit + 1);
                    if (nu < 0) continue;
                    const i128 val = mu[ri] * nv + nu * mv[si];
                    if (val < best) best = val, best_c = c, best_nv = nv, best_nu = nu;
                }
                if (best_c == 0) continue;
                std::int64_t *vr = t.V(r), *vs = t.V(s), *us = t.U(s), *ur = t.U(r);
                for (int k = 0; k < kCodes; ++k) vr[k] += best_c * vs[k], us[k] -= best_c * ur[k];
                mv[ri] = best_nv, mu[si] = best_nu;
                improved = true;
            }
    }
}

// Canonical scaling and signs: each u_r primitive (gcd of its values 1; the factor moves to
// v_r, which leaves term_bound unchanged) with its first nonzero value positive.
void canonicalize(Terms& t) {
    for (int r = 0; r < t.rank; ++r) {
        std::int64_t *u = t.U(r), *v = t.V(r);
        i128 g = 0, first = 0;
        for (int k = 0; k < kCodes; ++k) {
            g = gcd128(g, u[k]);
            if (first == 0) first = u[k];
        }
        if (g == 0) continue;
        if (first < 0) g = -g;
        bool fits = true;
        for (int k = 0; k < kCodes; ++k) fits = fits && in_limit(i128{v[k]} * g);
        if (!fits) continue;
        for (int k = 0; k < kCodes; ++k) {
            u[k] = static_cast<std::int64_t>(u[k] / g);
            v[k] = static_cast<std::int64_t>(v[k] * g);
        }
    }
}

i128 bit_of(int code, int i) { return i == 0 ? 1 : (code >> (i - 1)) & 1; }

// Maps a factorization of the 9x9 bit matrix (rows: activation bits, or weight bits when
// `transposed`) to functions of the codes; nullopt when a value exceeds the limit.
std::optional<Terms> terms_from_bits(const Factorization& f, bool transposed) {
    const int R = f.rank;
    Terms t{R, std::vector<std::int64_t>(static_cast<std::size_t>(R) * kCodes),
            std::vector<std::int64_t>(static_cast<std::size_t>(R) * kCodes)};
    for (int r = 0; r < R; ++r)
        for (int x = 0; x < kCodes; ++x) {
            i128 left = 0, right = 0;  // from P (row side) and Q (column side)
            for (int i = 0; i < kBits; ++i) {
                left += bit_of(x, i) *
                        f.p[static_cast<std::size_t>(i) * static_cast<std::size_t>(R) + static_cast<std::size_t>(r)];
                right += f.q[static_cast<std::size_t>(r) * kBits + static_cast<std::size_t>(i)] * bit_of(x, i);
            }
            if (!in_limit(left) || !in_limit(right)) return std::nullopt;
            const std::size_t k = static_cast<std::size_t>(r) * kCodes + static_cast<std::size_t>(x);
            (transposed ? t.v : t.u)[k] = static_cast<std::int64_t>(left);
            (transposed ? t.u : t.v)[k] = static_cast<std::int64_t>(right);
        }
    return t;
}

// The same for a factorization of the table itself (entries already within the limit).
std::optional<Terms> terms_from_table(const Factorization& f, bool transposed) {
    const int R = f.rank;
    Terms t{R, std::vector<std::int64_t>(static_cast<std::size_t>(R) * kCodes),
            std::vector<std::int64_t>(static_cast<std::size_t>(R) * kCodes)};
    for (int r = 0; r < R; ++r)
        for (int x = 0; x < kCodes; ++x) {
            const std::size_t k = static_cast<std::size_t>(r) * kCodes + static_cast<std::size_t>(x);
            (transposed ? t.v : t.u)[k] = static_cast<std::int64_t>(
                f.p[static_cast<std::size_t>(x) * static_cast<std::size_t>(R) + static_cast<std::size_t>(r)]);
            (transposed ? t.u : t.v)[k] = static_cast<std::int64_t>(f.q[k]);
        }
    return t;
}

// C with E[a][w] = bits(a)^T C bits(w) for all codes, when E has that form. At the codes
// 0, 1, 2, 4, ..., 128 the bit vectors are e0 and e0 + e_i: a unit lower-triangular basis
// B, so C = B^-1 E_sub B^-T is integer and reads off by inclusion-exclusion; then every
// entry is checked.
std::optional<Matrix> bit_bilinear_matrix(const std::vector<std::int64_t>& e) {
    auto pt = [](int i) { return i == 0 ? 0 : 1 << (i - 1); };
    auto E = [&](int a, int w) { return e[static_cast<std::size_t>(a) * kCodes + static_cast<std::size_t>(w)]; };
    Matrix c{kBits, kBits, std::vector<std::int64_t>(kBits * kBits)};
    for (int i = 0; i < kBits; ++i)
        for (int j = 0; j < kBits; ++j) {
            std::int64_t x = E(pt(i), pt(j));
            if (i > 0) x -= E(0, pt(j));
            if (j > 0) x -= E(pt(i), 0);
            if (i > 0 && j > 0) x += E(0, 0);
            c.a[static_cast<std::size_t>(i * kBits + j)] = x;
        }
    for (int a = 0; a < kCodes; ++a) {
        std::int64_t row[kBits] = {};
        for (int i = 0; i < kBits; ++i)
            if (bit_of(a, i))
                for (int j = 0; j < kBits; ++j) row[j] += c.at(i, j);
        for (int w = 0; w < kCodes; ++w) {
            std::int64_t s = row[0];
            for (int j = 1; j < kBits; ++j)
                if ((w >> (j - 1)) & 1) s += row[j];
            if (s != E(a, w)) return std::nullopt;
        }
    }
    return c;
}

void check_size(const std::vector<std::int64_t>& error, const char* what) {
    if (error.size() != kTable)
        throw Error(std::string(what) + ": error table has " + std::to_string(error.size()) +
                    " entries, expected 65536");
}

}  // namespace

std::int64_t SeparableForm::max_abs_u(int r) const {
    if (r < 0 || r >= rank || u.size() != static_cast<std::size_t>(rank) * kCodes)
        throw Error("separable form: term " + std::to_string(r) + " out of range (rank " + std::to_string(rank) + ")");
    std::int64_t m = 0;
    for (int k = 0; k < kCodes; ++k)
        m = std::max(m, abs64(u[static_cast<std::size_t>(r) * kCodes + static_cast<std::size_t>(k)]));
    return m;
}

std::int64_t SeparableForm::max_abs_v(int r) const {
    if (r < 0 || r >= rank || v.size() != static_cast<std::size_t>(rank) * kCodes)
        throw Error("separable form: term " + std::to_string(r) + " out of range (rank " + std::to_string(rank) + ")");
    std::int64_t m = 0;
    for (int k = 0; k < kCodes; ++k)
        m = std::max(m, abs64(v[static_cast<std::size_t>(r) * kCodes + static_cast<std::size_t>(k)]));
    return m;
}

std::int64_t SeparableForm::term_bound() const {
    i128 b = 0;
    for (int r = 0; r < rank; ++r) b += i128{max_abs_u(r)} * max_abs_v(r);
    constexpr auto top = std::numeric_limits<std::int64_t>::max();
    return b > top ? top : static_cast<std::int64_t>(b);  // saturates
}

bool SeparableForm::reproduces(const std::vector<std::int64_t>& error) const {
    check_size(error, "separable form");
    if (rank < 0) return false;
    const auto R = static_cast<std::size_t>(rank);
    if (u.size() != R * kCodes || v.size() != R * kCodes) return false;
    std::vector<i128> row(kCodes);
    for (std::size_t a = 0; a < kCodes; ++a) {
        std::fill(row.begin(), row.end(), 0);
        for (std::size_t r = 0; r < R; ++r) {
            const i128 ua = u[r * kCodes + a];
            if (ua == 0) continue;
            for (std::size_t w = 0; w < kCodes; ++w) row[w] += ua * v[r * kCodes + w];
        }
        for (std::size_t w = 0; w < kCodes; ++w)
            if (row[w] != error[a * kCodes + w]) return false;
    }
    return true;
}

std::vector<std::int64_t> error_table(const std::vector<std::int32_t>& table, bool is_signed) {
    if (table.size() != kTable)
        throw Error("error table: multiplier table has " + std::to_string(table.size()) +
                    " entries, expected 65536 (an 8x8-bit block)");
    std::vector<std::int64_t> e(kTable);
    for (std::uint32_t a = 0; a < kCodes; ++a) {
        const std::int64_t va = code_to_value(a, 8, is_signed);
        for (std::uint32_t w = 0; w < kCodes; ++w)
            e[(a << 8) | w] = std::int64_t{table[(a << 8) | w]} - va * code_to_value(w, 8, is_signed);
    }
    return e;
}

std::optional<SeparableForm> factorize_error(const std::vector<std::int64_t>& error, int max_rank) {
    check_size(error, "factorize_error");
    if (max_rank < 0) throw Error("factorize_error: max_rank " + std::to_string(max_rank) + " is negative");
    if (std::all_of(error.begin(), error.end(), [](std::int64_t x) { return x == 0; })) {
        SeparableForm exact;
        exact.method = "exact";
        return exact;
    }
    if (!std::all_of(error.begin(), error.end(), [](std::int64_t x) { return in_limit(x); })) return std::nullopt;

    struct Candidate {
        Terms terms;
        i128 bound;
        const char* method;
    };
    std::optional<Candidate> best;
    auto consider = [&](std::optional<Terms> candidate, const char* method) {
        if (!candidate) return;
        Terms& t = *candidate;
        reduce_magnitudes(t, kSearchBudget);
        const i128 b = bound_of(t);
        if (b > std::numeric_limits<std::int64_t>::max() / 2) return;
        if (!best || t.rank < best->terms.rank || (t.rank == best->terms.rank && b < best->bound))
            best = Candidate{std::move(t), b, method};
    };

    // Bit-bilinear route: factor the 9x9 C, both orientations.
    if (const auto c = bit_bilinear_matrix(error)) {
        for (const bool transposed : {false, true}) {
            bool exceeded = false;
            for (const auto& f : factor_candidates(transposed ? c->transposed() : *c, max_rank, exceeded))
                consider(terms_from_bits(f, transposed), "bit-bilinear");
            if (exceeded) return std::nullopt;  // the rank of E is that of C
        }
    }
    // General route: the 256 x 256 table itself, rows then columns.
    {
        const Matrix e{kCodes, kCodes, error};
        for (const bool transposed : {false, true}) {
            bool exceeded = false;
            for (const auto& f : factor_candidates(transposed ? e.transposed() : e, max_rank, exceeded))
                consider(terms_from_table(f, transposed), "integer-lattice");
            if (exceeded) break;  // rank is orientation-independent
        }
    }
    if (!best) return std::nullopt;

    canonicalize(best->terms);
    SeparableForm form;
    form.rank = best->terms.rank;
    form.method = best->method;
    form.u.assign(best->terms.u.begin(), best->terms.u.end());
    form.v.assign(best->terms.v.begin(), best->terms.v.end());
    // Every step above is exact, so this holds; the check keeps a wrong form from ever
    // reaching the engine.
    if (!form.reproduces(error)) return std::nullopt;
    return form;
}

}  // namespace hawx::engine
