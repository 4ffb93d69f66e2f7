#pragma once
// Engine-internal: the gather path's lookups 64 at a time (AVX-512 VBMI). For one weight
// position the products of 64 activations are T[a][w] for a fixed column w, a 256-entry
// table; a 16-bit table splits into a low-byte and a high-byte table, each looked up with
// two 128-byte permutes (vpermi2b) and a blend on the code's top bit. The bytes are summed
// per row in 16-bit lanes, widened to int32 every 128 positions: exact integer sums, the
// same as the scalar kernel.
#include <cstdint>
#include <vector>

namespace hawx::engine::detail {

/// True when this CPU has AVX-512 VBMI and HAWX_ENGINE_INT8 is not "0".
bool byte_lookup_available();

/// The 512-byte split of a 16-bit column: 256 low bytes, then 256 high bytes.
void split_column(const void* column, bool is_signed16, std::uint8_t* out);

/// acc[r] = sum over positions j of T_j[codes_j[r]] for r < R, where codes_j is row
/// `rows[j]` of `cols` (R bytes per row) and T_j is the column split at `split + offset[j]`;
/// `high_signed`: the high byte is two's complement (int16 tables) rather than unsigned.
void lookup_sum(const std::uint8_t* cols, std::int64_t R, const std::int32_t* rows, const std::int64_t* offset,
                std::int64_t count, const std::uint8_t* split, bool high_signed, std::int32_t* acc);

}  // namespace hawx::engine::detail
