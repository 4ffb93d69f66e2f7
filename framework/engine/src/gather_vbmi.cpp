#include "gather_vbmi.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

namespace hawx::engine::detail {

namespace {

bool cpu_has_vbmi() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vbmi");
}

constexpr std::int64_t kBlock = 128;  // rows per pass: two 64-byte vectors of codes
constexpr std::int64_t kFlush = 128;  // positions summed in 16-bit lanes before widening

// Adds the 16-bit partial sums (rows 32i .. 32i + 31 in lo[i], hi[i]) to sum and clears them.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) inline void flush(__m512i* lo, __m512i* hi, int parts,
                                                                         bool high_signed, std::int32_t* sum) {
    for (int i = 0; i < parts; ++i) {
        for (int h = 0; h < 2; ++h) {
            const __m256i l = h == 0 ? _mm512_castsi512_si256(lo[i]) : _mm512_extracti64x4_epi64(lo[i], 1);
            const __m256i u = h == 0 ? _mm512_castsi512_si256(hi[i]) : _mm512_extracti64x4_epi64(hi[i], 1);
            const __m512i wl = _mm512_cvtepu16_epi32(l);
            const __m512i wu = high_signed ? _mm512_cvtepi16_epi32(u) : _mm512_cvtepu16_epi32(u);
            std::int32_t* s = sum + 32 * i + 16 * h;
            _mm512_store_si512(s, _mm512_add_epi32(_mm512_load_si512(s), _mm512_add_epi32(wl, _mm512_slli_epi32(wu, 8))));
        }
        lo[i] = hi[i] = _mm512_setzero_si512();
    }
}

}  // namespace

bool byte_lookup_available() {
    static const bool cpu = cpu_has_vbmi();
    const char* env = std::getenv("HAWX_ENGINE_INT8");
    return cpu && !(env != nullptr && std::string(env) == "0");
}

void split_column(const void* column, bool is_signed16, std::uint8_t* out) {
    for (int c = 0; c < 256; ++c) {
        const std::uint16_t v = is_signed16 ? static_cast<std::uint16_t>(static_cast<const std::int16_t*>(column)[c])
                                            : static_cast<const std::uint16_t*>(column)[c];
        out[c] = static_cast<std::uint8_t>(v & 0xFF);
        out[256 + c] = static_cast<std::uint8_t>(v >> 8);
    }
}

__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void lookup_sum(const std::uint8_t* cols, std::int64_t R,
                                                                      const std::int32_t* rows,
                                                                      const std::int64_t* offset, std::int64_t count,
                                                                      const std::uint8_t* split, bool high_signed,
                                                                      std::int32_t* acc) {
    alignas(64) std::int32_t sum[kBlock];
    for (std::int64_t r0 = 0; r0 < R; r0 += kBlock) {
        const std::int64_t n = std::min(kBlock, R - r0);
        const int vectors = n > 64 ? 2 : 1;
        const __mmask64 mask[2] = {n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1,
                                   n >= 128 ? ~__mmask64{0} : n > 64 ? (__mmask64{1} << (n - 64)) - 1 : 0};
        std::memset(sum, 0, sizeof(sum));
        __m512i lo[4], hi[4];  // 16-bit partial sums, rows 32i .. 32i + 31
        for (int i = 0; i < 4; ++i) lo[i] = hi[i] = _mm512_setzero_si512();
        for (std::int64_t j = 0; j < count; ++j) {
            if (j > 0 && j % kFlush == 0) flush(lo, hi, 2 * vectors, high_signed, sum);
            const std::uint8_t* t = split + offset[j];
            const __m512i L0 = _mm512_loadu_si512(t), L1 = _mm512_loadu_si512(t + 64);
            const __m512i L2 = _mm512_loadu_si512(t + 128), L3 = _mm512_loadu_si512(t + 192);
            const __m512i H0 = _mm512_loadu_si512(t + 256), H1 = _mm512_loadu_si512(t + 320);
            const __m512i H2 = _mm512_loadu_si512(t + 384), H3 = _mm512_loadu_si512(t + 448);
            const std::uint8_t* x = cols + rows[j] * R + r0;
            for (int v = 0; v < vectors; ++v) {
                const __m512i codes = _mm512_maskz_loadu_epi8(mask[v], x + 64 * v);
                const __mmask64 top = _mm512_movepi8_mask(codes);  // code >= 128: the upper half
                const __m512i l = _mm512_mask_blend_epi8(top, _mm512_permutex2var_epi8(L0, codes, L1),
                                                         _mm512_permutex2var_epi8(L2, codes, L3));
                const __m512i u = _mm512_mask_blend_epi8(top, _mm512_permutex2var_epi8(H0, codes, H1),
                                                         _mm512_permutex2var_epi8(H2, codes, H3));
                const __m256i l0 = _mm512_castsi512_si256(l), l1 = _mm512_extracti64x4_epi64(l, 1);
                const __m256i u0 = _mm512_castsi512_si256(u), u1 = _mm512_extracti64x4_epi64(u, 1);
                lo[2 * v] = _mm512_add_epi16(lo[2 * v], _mm512_cvtepu8_epi16(l0));
                lo[2 * v + 1] = _mm512_add_epi16(lo[2 * v + 1], _mm512_cvtepu8_epi16(l1));
                hi[2 * v] = _mm512_add_epi16(hi[2 * v], high_signed ? _mm512_cvtepi8_epi16(u0) : _mm512_cvtepu8_epi16(u0));
                hi[2 * v + 1] =
                    _mm512_add_epi16(hi[2 * v + 1], high_signed ? _mm512_cvtepi8_epi16(u1) : _mm512_cvtepu8_epi16(u1));
            }
        }
        flush(lo, hi, 2 * vectors, high_signed, sum);
        std::memcpy(acc + r0, sum, static_cast<std::size_t>(n) * sizeof(std::int32_t));
    }
}

}  // namespace hawx::engine::detail
