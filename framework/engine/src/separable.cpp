#include "hawx/engine/separable.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <utility>

#include <hawx/sdk/block.hpp>
#include <hawx/sdk/error.hpp>

namespace hawx::engine {

namespace {

__extension__ typedef __int128 i128;

constexpr int kCodes = 256;
constexpr std::size_t kTable = std::size_t{kCodes} * kCodes;
// Every intermediate integer (basis entries, coefficients, u and v values) stays within
// 2^40 in magnitude, so products of two of them and sums of a few such products fit in
// __int128 with room to spare; past it we give up rather than risk overflow.
constexpr i128 kLimit = i128{1} << 40;
constexpr int kBits = 9;  // bits(x) = (1, b0, ..., b7)

i128 abs128(i128 x) { return x < 0 ? -x : x; }
bool in_limit(i128 x) { return abs128(x) <= kLimit; }
std::int64_t abs64(std::int64_t x) { return x < 0 ? -x : x; }

// Nearest integer to a / b (b != 0), ties toward +infinity.
i128 round_div(i128 a, i128 b) {
    if (b < 0) a = -a, b = -b;
    const i128 n = 2 * a + b, d = 2 * b;
    return n >= 0 ? n / d : -((-n + d - 1) / d);
}

// g = gcd(a, b) >= 0 and s, t with s * a + t * b = g.
void ext_gcd(i128 a, i128 b, i128& g, i128& s, i128& t) {
    i128 r0 = a, r1 = b, s0 = 1, s1 = 0, t0 = 0, t1 = 1;
    while (r1 != 0) {
        const i128 q = r0 / r1;
        i128 tmp = r0 - q * r1; r0 = r1; r1 = tmp;
        tmp = s0 - q * s1; s0 = s1; s1 = tmp;
        tmp = t0 - q * t1; t0 = t1; t1 = tmp;
    }
    if (r0 < 0) r0 = -r0, s0 = -s0, t0 = -t0;
    g = r0, s = s0, t = t0;
}

using Row = std::vector<i128>;

// Row-echelon basis of the integer lattice spanned by the rows inserted so far (a
// Hermite-normal-form basis: positive pivots, entries above each pivot reduced modulo it).
// Rows have `cols` lattice columns followed by `extra` carried columns that take part in
// every row operation but never hold a pivot (used to record each basis row as a
// combination of the inserted rows).
//
// Insertion uses only unimodular row operations (subtracting a multiple of another row,
// and the 2x2 extended-gcd step [[s, t], [-x/g, h/g]] of determinant 1), so the basis
// always spans exactly the lattice of the inserted rows.
class EchelonBasis {
public:
    enum class Status { InLattice, NewDirection, Overflow };

    EchelonBasis(int cols, int extra) : cols_(cols), width_(cols + extra) {}

    int rank() const { return static_cast<int>(rows_.size()); }
    const Row& row(int r) const { return rows_[static_cast<std::size_t>(r)]; }

    // Adds x (width entries) to the spanning set.
    Status insert(Row x) {
        bool changed = false;
        std::size_t idx = 0;
        int lead = first_nonzero(x, 0);
        while (lead < cols_) {
            while (idx < rows_.size() && piv_[idx] < lead) ++idx;
            if (idx == rows_.size() || piv_[idx] > lead) {
                rows_.insert(rows_.begin() + static_cast<std::ptrdiff_t>(idx), std::move(x));
                piv_.insert(piv_.begin() + static_cast<std::ptrdiff_t>(idx), lead);
                return normalize() ? Status::NewDirection : Status::Overflow;
            }
            Row& h = rows_[idx];
            const i128 hp = h[static_cast<std::size_t>(lead)], xp = x[static_cast<std::size_t>(lead)];
            if (xp % hp == 0) {
                if (!axpy(x, -(xp / hp), h)) return Status::Overflow;
            } else {
                i128 g, s, t;
                ext_gcd(hp, xp, g, s, t);
                const i128 hg = hp / g, xg = xp / g;
                for (int c = lead; c < width_; ++c) {
                    const auto k = static_cast<std::size_t>(c);
                    const i128 nh = s * h[k] + t * x[k], nx = hg * x[k] - xg * h[k];
                    if (!in_limit(nh) || !in_limit(nx)) return Status::Overflow;
                    h[k] = nh, x[k] = nx;
                }
                changed = true;
            }
            lead = first_nonzero(x, lead + 1);
            ++idx;
        }
        if (changed && !normalize()) return Status::Overflow;
        return Status::InLattice;
    }

    // Integer coefficients c with x = sum_r c[r] * row(r) on the lattice columns (x has
    // `cols` entries); false when x is not in the lattice or a value exceeds the limit.
    // The pivots make the system triangular, so c is unique and found by forward division.
    bool solve(Row x, Row& c) const {
        c.assign(rows_.size(), 0);
        for (std::size_t r = 0; r < rows_.size(); ++r) {
            const auto p = static_cast<std::size_t>(piv_[r]);
            for (std::size_t k = r == 0 ? 0 : static_cast<std::size_t>(piv_[r - 1]) + 1; k < p; ++k)
                if (x[k] != 0) return false;
            if (x[p] % rows_[r][p] != 0) return false;
            c[r] = x[p] / rows_[r][p];
            if (!in_limit(c[r])) return false;
            for (std::size_t k = p; k < static_cast<std::size_t>(cols_); ++k) {
                x[k] -= c[r] * rows_[r][k];
                if (!in_limit(x[k])) return false;
            }
        }
        for (int k = 0; k < cols_; ++k)
            if (x[static_cast<std::size_t>(k)] != 0) return false;
        return true;
    }

private:
    int first_nonzero(const Row& x, int from) const {
        for (int c = from; c < cols_; ++c)
            if (x[static_cast<std::size_t>(c)] != 0) return c;
        return cols_;
    }
    // x += m * h over the whole width.
    bool axpy(Row& x, i128 m, const Row& h) const {
        if (m == 0) return true;
        if (!in_limit(m)) return false;
        for (int c = 0; c < width_; ++c) {
            const auto k = static_cast<std::size_t>(c);
            x[k] += m * h[k];
            if (!in_limit(x[k])) return false;
        }
        return true;
    }
    // Hermite reduction: positive pivots, entries above a pivot in [-p/2, p/2]; keeps the
    // basis entries small (unimodular too, so the lattice is unchanged).
    bool normalize() {
        for (std::size_t r = 0; r < rows_.size(); ++r)
            if (rows_[r][static_cast<std::size_t>(piv_[r])] < 0)
                for (auto& e : rows_[r]) e = -e;
        for (std::size_t j = 0; j < rows_.size(); ++j) {
            const auto p = static_cast<std::size_t>(piv_[j]);
            for (std::size_t i = 0; i < j; ++i)
                if (!axpy(rows_[i], -round_div(rows_[i][p], rows_[j][p]), rows_[j])) return false;
        }
        return true;
    }

    int cols_, width_;
    std::vector<Row> rows_;
    std::vector<int> piv_;
};

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
    std::int64_t at(int i, int j) const { return a[static_cast<std::size_t>(i) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(j)]; }
    Matrix transposed() const {
        Matrix t{cols, rows, std::vector<std::int64_t>(a.size())};
        for (int i = 0; i < rows; ++i)
            for (int j = 0; j < cols; ++j) t.a[static_cast<std::size_t>(j) * static_cast<std::size_t>(rows) + static_cast<std::size_t>(i)] = at(i, j);
        return t;
    }
    Row row(int i, int width) const {
        Row r(static_cast<std::size_t>(width), 0);
        for (int j = 0; j < cols; ++j) r[static_cast<std::size_t>(j)] = at(i, j);
        return r;
    }
};

// Exact integer rank factorizations of M, as starting points for the magnitude search:
//  - "lattice": Q = the Hermite basis of M's row lattice, P = each row's coordinates in it.
//    P is integer because every row of M lies in the lattice its rows span, and the
//    echelon basis spans exactly that lattice (built by unimodular operations), so each
//    row is an integer combination of the basis rows; the triangular solve finds it.
//  - "generators": Q = rank-many actual rows of M (picked greedily, smallest first), when
//    they happen to span the whole row lattice; these rows are as small as M's entries.
// Empty when the rank exceeds max_rank (rank_exceeded set) or a value exceeds the limit.
std::vector<Factorization> factor_candidates(const Matrix& m, int max_rank, bool& rank_exceeded) {
    std::vector<int> order(static_cast<std::size_t>(m.rows));
    std::vector<std::int64_t> row_max(order.size(), 0);
    for (int i = 0; i < m.rows; ++i) {
        order[static_cast<std::size_t>(i)] = i;
        for (int j = 0; j < m.cols; ++j)
            row_max[static_cast<std::size_t>(i)] = std::max(row_max[static_cast<std::size_t>(i)], abs64(m.at(i, j)));
    }
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
        return row_max[static_cast<std::size_t>(x)] < row_max[static_cast<std::size_t>(y)];
    });

    EchelonBasis full(m.cols, 0);
    std::vector<int> gens;
    for (int i : order) {
        if (row_max[static_cast<std::size_t>(i)] == 0) continue;
        const auto st = full.insert(m.row(i, m.cols));
        if (st == EchelonBasis::Status::Overflow) return {};
        if (st == EchelonBasis::Status::NewDirection) {
            gens.push_back(i);
            if (full.rank() > max_rank) {
                rank_exceeded = true;
                return {};
            }
        }
    }
    const int rank = full.rank();
    const auto R = static_cast<std::size_t>(rank);
    const auto cols = static_cast<std::size_t>(m.cols);
    std::vector<Factorization> out;

    // Generators: basis of their own lattice, each basis row carrying its combination of
    // the generators in the extra columns, so coordinates convert back to the generators.
    {
        EchelonBasis gb(m.cols, rank);
        bool ok = true;
        for (std::size_t k = 0; k < R && ok; ++k) {
            Row x = m.row(gens[k], m.cols + rank);
            x[cols + k] = 1;
            ok = gb.insert(std::move(x)) == EchelonBasis::Status::NewDirection;
        }
        Factorization f{rank, std::vector<i128>(static_cast<std::size_t>(m.rows) * R, 0), std::vector<i128>(R * cols)};
        Row c;
        for (int i = 0; i < m.rows && ok; ++i) {
            ok = gb.solve(m.row(i, m.cols), c);
            for (std::size_t k = 0; k < R && ok; ++k) {
                i128 s = 0;
                for (std::size_t r = 0; r < R; ++r) s += c[r] * gb.row(static_cast<int>(r))[cols + k];
                ok = in_limit(s);
                f.p[static_cast<std::size_t>(i) * R + k] = s;
            }
        }
        if (ok) {
            for (std::size_t k = 0; k < R; ++k)
                for (std::size_t j = 0; j < cols; ++j) f.q[k * cols + j] = m.at(gens[k], static_cast<int>(j));
            out.push_back(std::move(f));
        }
    }
    // Lattice basis.
    {
        Factorization f{rank, std::vector<i128>(static_cast<std::size_t>(m.rows) * R, 0), std::vector<i128>(R * cols)};
        bool ok = true;
        Row c;
        for (int i = 0; i < m.rows && ok; ++i) {
            ok = full.solve(m.row(i, m.cols), c);
            for (std::size_t r = 0; r < R && ok; ++r) f.p[static_cast<std::size_t>(i) * R + r] = c[r];
        }
        if (ok) {
            for (std::size_t r = 0; r < R; ++r)
                for (std::size_t j = 0; j < cols; ++j) f.q[r * cols + j] = full.row(static_cast<int>(r))[j];
            out.push_back(std::move(f));
        }
    }
    return out;
}

// The working form: E[a][w] = sum_r u[r][a] v[r][w], values as i128 within the limit.
struct Terms {
    int rank = 0;
    std::vector<i128> u, v;  // rank x 256 each
};

i128 max_abs(const i128* x) {
    i128 m = 0;
    for (int k = 0; k < kCodes; ++k) m = std::max(m, abs128(x[k]));
    return m;
}

i128 bound_of(const Terms& t) {
    i128 b = 0;
    for (int r = 0; r < t.rank; ++r) b += max_abs(&t.u[static_cast<std::size_t>(r) * kCodes]) * max_abs(&t.v[static_cast<std::size_t>(r) * kCodes]);
    return b;
}

// Magnitude reduction by unimodular pair moves: for r != s and an integer c,
//     v_r += c v_s,  u_s -= c u_r
// leaves sum_r u_r v_r unchanged (u_r v_r + u_s v_s = u_r (v_r + c v_s) + (u_s - c u_r) v_s).
// Greedy descent on term_bound over a few candidate c per pair (small ones, and the
// least-squares steps of either side); stops when no move helps or the work budget is spent.
void reduce_magnitudes(Terms& t) {
    const int R = t.rank;
    if (R < 2) return;
    std::vector<i128> mu(static_cast<std::size_t>(R)), mv(static_cast<std::size_t>(R));
    auto U = [&](int r) { return &t.u[static_cast<std::size_t>(r) * kCodes]; };
    auto V = [&](int r) { return &t.v[static_cast<std::size_t>(r) * kCodes]; };
    for (int r = 0; r < R; ++r) mu[static_cast<std::size_t>(r)] = max_abs(U(r)), mv[static_cast<std::size_t>(r)] = max_abs(V(r));
    // Max-norm of x + c y, or -1 when an entry leaves the limit.
    auto combo_max = [](const i128* x, const i128* y, i128 c) {
        i128 m = 0;
        for (int k = 0; k < kCodes; ++k) {
            const i128 e = abs128(x[k] + c * y[k]);
            if (e > kLimit) return i128{-1};
            m = std::max(m, e);
        }
        return m;
    };
    auto dot = [](const i128* x, const i128* y) {
        i128 s = 0;
        for (int k = 0; k < kCodes; ++k) s += x[k] * y[k];
        return s;
    };
    long budget = 40'000'000 / kCodes;  // combo evaluations; keeps the worst case well under 0.1 s
    for (bool improved = true; improved && budget > 0;) {
        improved = false;
        for (int r = 0; r < R && budget > 0; ++r)
            for (int s = 0; s < R && budget > 0; ++s) {
                if (r == s) continue;
                const auto ri = static_cast<std::size_t>(r), si = static_cast<std::size_t>(s);
                i128 cands[8] = {1, -1, 2, -2, 0, 0, 0, 0};
                int nc = 4;
                const i128 vv = dot(V(s), V(s)), uu = dot(U(r), U(r));
                if (vv != 0) cands[nc++] = -round_div(dot(V(r), V(s)), vv);
                if (uu != 0) cands[nc++] = round_div(dot(U(s), U(r)), uu);
                const i128 old = mu[ri] * mv[ri] + mu[si] * mv[si];
                i128 best = old, best_c = 0, best_nv = 0, best_nu = 0;
                for (int k = 0; k < nc; ++k) {
                    const i128 c = cands[k];
                    if (c == 0 || !in_limit(c)) continue;
                    --budget;
                    const i128 nv = combo_max(V(r), V(s), c);
                    if (nv < 0) continue;
                    const i128 nu = combo_max(U(s), U(r), -c);
                    if (nu < 0) continue;
                    const i128 val = mu[ri] * nv + nu * mv[si];
                    if (val < best) best = val, best_c = c, best_nv = nv, best_nu = nu;
                }
                if (best_c == 0) continue;
                for (int k = 0; k < kCodes; ++k) V(r)[k] += best_c * V(s)[k], U(s)[k] -= best_c * U(r)[k];
                mv[ri] = best_nv, mu[si] = best_nu;
                improved = true;
            }
    }
}

// Canonical scaling and signs: each u_r primitive (gcd of its values 1; the factor moves to
// v_r, which leaves term_bound unchanged) with its first nonzero value positive.
void canonicalize(Terms& t) {
    for (int r = 0; r < t.rank; ++r) {
        i128* u = &t.u[static_cast<std::size_t>(r) * kCodes];
        i128* v = &t.v[static_cast<std::size_t>(r) * kCodes];
        i128 g = 0, first = 0;
        for (int k = 0; k < kCodes; ++k) {
            i128 a = abs128(u[k]), b = g;
            while (b != 0) { const i128 tmp = a % b; a = b; b = tmp; }
            g = a;
            if (first == 0) first = u[k];
        }
        if (g == 0) continue;
        if (first < 0) g = -g;
        bool fits = true;
        for (int k = 0; k < kCodes; ++k) fits = fits && in_limit(v[k] * g);
        if (!fits) continue;
        for (int k = 0; k < kCodes; ++k) u[k] /= g, v[k] *= g;
    }
}

i128 bit_of(int code, int i) { return i == 0 ? 1 : (code >> (i - 1)) & 1; }

// Maps a factorization of the 9x9 bit matrix (rows: activation bits, or weight bits when
// `transposed`) to functions of the codes.
Terms terms_from_bits(const Factorization& f, bool transposed) {
    const int R = f.rank;
    Terms t{R, std::vector<i128>(static_cast<std::size_t>(R) * kCodes), std::vector<i128>(static_cast<std::size_t>(R) * kCodes)};
    for (int r = 0; r < R; ++r)
        for (int x = 0; x < kCodes; ++x) {
            i128 left = 0, right = 0;  // from P (row side) and Q (column side)
            for (int i = 0; i < kBits; ++i) {
                left += bit_of(x, i) * f.p[static_cast<std::size_t>(i) * static_cast<std::size_t>(R) + static_cast<std::size_t>(r)];
                right += f.q[static_cast<std::size_t>(r) * kBits + static_cast<std::size_t>(i)] * bit_of(x, i);
            }
            const std::size_t k = static_cast<std::size_t>(r) * kCodes + static_cast<std::size_t>(x);
            (transposed ? t.v : t.u)[k] = left;
            (transposed ? t.u : t.v)[k] = right;
        }
    return t;
}

Terms terms_from_table(const Factorization& f, bool transposed) {
    const int R = f.rank;
    Terms t{R, std::vector<i128>(static_cast<std::size_t>(R) * kCodes), std::vector<i128>(static_cast<std::size_t>(R) * kCodes)};
    for (int r = 0; r < R; ++r)
        for (int x = 0; x < kCodes; ++x) {
            const std::size_t k = static_cast<std::size_t>(r) * kCodes + static_cast<std::size_t>(x);
            (transposed ? t.v : t.u)[k] = f.p[static_cast<std::size_t>(x) * static_cast<std::size_t>(R) + static_cast<std::size_t>(r)];
            (transposed ? t.u : t.v)[k] = f.q[k];
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
        throw Error(std::string(what) + ": error table has " + std::to_string(error.size()) + " entries, expected 65536");
}

}  // namespace

std::int64_t SeparableForm::max_abs_u(int r) const {
    if (r < 0 || r >= rank || u.size() != static_cast<std::size_t>(rank) * kCodes)
        throw Error("separable form: term " + std::to_string(r) + " out of range (rank " + std::to_string(rank) + ")");
    std::int64_t m = 0;
    for (int k = 0; k < kCodes; ++k) m = std::max(m, abs64(u[static_cast<std::size_t>(r) * kCodes + static_cast<std::size_t>(k)]));
    return m;
}

std::int64_t SeparableForm::max_abs_v(int r) const {
    if (r < 0 || r >= rank || v.size() != static_cast<std::size_t>(rank) * kCodes)
        throw Error("separable form: term " + std::to_string(r) + " out of range (rank " + std::to_string(rank) + ")");
    std::int64_t m = 0;
    for (int k = 0; k < kCodes; ++k) m = std::max(m, abs64(v[static_cast<std::size_t>(r) * kCodes + static_cast<std::size_t>(k)]));
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
    const auto R = static_cast<std::size_t>(rank);
    if (rank < 0 || u.size() != R * kCodes || v.size() != R * kCodes) return false;
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
    auto consider = [&](Terms t, const char* method) {
        reduce_magnitudes(t);
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
