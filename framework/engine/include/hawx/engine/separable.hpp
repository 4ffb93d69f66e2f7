#pragma once
/// \file
/// Exact integer low-rank decomposition of a block's error table, the basis of the engine's
/// separable fast path. Torch-free.
///
/// For an 8x8-bit block with table T (index (a_code << 8) | w_code) the error table is
/// E[a][w] = T[a][w] - value(a) * value(w), codes being operand bit patterns (two's
/// complement when signed). A separable form writes it exactly as
///     E[a][w] = sum_{r < R} u[r][a] * v[r][w]
/// with integer-valued u (a function of the activation code) and v (of the weight code).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hawx::engine {

struct SeparableForm {
    int rank = 0;                 ///< R (0 when the block is exact)
    std::vector<std::int64_t> u;  ///< R x 256, u[r * 256 + a_code]
    std::vector<std::int64_t> v;  ///< R x 256, v[r * 256 + w_code]
    std::string method;           ///< how it was found, e.g. "bit-bilinear" or "integer-lattice"

    std::int64_t max_abs_u(int r) const;
    std::int64_t max_abs_v(int r) const;
    /// sum_r max|u_r| * max|v_r|: bound on |E[a][w]| as computed term by term, which is what
    /// sets how long a float32 reduction over these terms may be and stay exact.
    std::int64_t term_bound() const;
    /// True when sum_r u[r][a] * v[r][w] == error[a * 256 + w] for all 65536 code pairs
    /// (false for a malformed form; hawx::Error when `error` does not have 65536 entries).
    bool reproduces(const std::vector<std::int64_t>& error) const;
};

/// The 65536-entry error table of an 8x8 multiplier table (T - exact product of the values).
/// Throws hawx::Error when `table` does not have 65536 entries.
std::vector<std::int64_t> error_table(const std::vector<std::int32_t>& table, bool is_signed);

/// Finds an exact integer decomposition of `error` (256 x 256, [a_code * 256 + w_code]) of
/// rank at most max_rank, or nullopt when none is found (rank too high, or intermediate
/// values too large). Deterministic. The result always satisfies reproduces(error).
///
/// The rank found is the rank of `error` (minimal); among the forms tried, the one with the
/// smallest term_bound() is returned. `method` is "exact" (rank 0), "bit-bilinear" (found via
/// error = bits(a)^T C bits(w), bits = (1, b0..b7) of the code, so every u_r and v_r is an
/// integer combination of those bits) or "integer-lattice" (found from the table directly).
/// Values are limited to 2^40 in magnitude (entries of `error`, u, v and intermediates) and
/// rational coordinates met on the way to 30-bit numerators and denominators: a table of
/// low rank but with large, unstructured factors (e.g. a random rank-8 product of +-40
/// entries) gives nullopt. Throws hawx::Error when `error` does not have 65536 entries or
/// max_rank is negative.
std::optional<SeparableForm> factorize_error(const std::vector<std::int64_t>& error, int max_rank);

}  // namespace hawx::engine
