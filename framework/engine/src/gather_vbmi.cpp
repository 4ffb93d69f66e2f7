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

// The 64 bytes of a 256-entry byte table (at t) for 64 codes: two 128-byte permutes, the
// code's top bit picking between them.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) inline __m512i lookup64(__m512i codes, __mmask64 top,
                                                                                const std::uint8_t* t) {
    return _mm512_mask_blend_epi8(top, _mm512_permutex2var_epi8(_mm512_loadu_si512(t), codes, _mm512_loadu_si512(t + 64)),
                                  _mm512_permutex2var_epi8(_mm512_loadu_si512(t + 128), codes, _mm512_loadu_si512(t + 192)));
}

// The int16 entries of one position for 64 rows (codes at x): rows 16 i + 0..7 of each
// 128-bit lane i in lo_rows, rows 16 i + 8..15 in hi_rows.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) inline void entries64(const std::uint8_t* x, __mmask64 mask,
                                                                             const std::uint8_t* t, __m512i& lo_rows,
                                                                             __m512i& hi_rows) {
    const __m512i codes = _mm512_maskz_loadu_epi8(mask, x);
    const __mmask64 top = _mm512_movepi8_mask(codes);
    const __m512i l = lookup64(codes, top, t), h = lookup64(codes, top, t + 256);
    lo_rows = _mm512_unpacklo_epi8(l, h);
    hi_rows = _mm512_unpackhi_epi8(l, h);
}

// Signed 16-bit tables with VNNI: the low and high bytes of a lookup interleave into the
// int16 entries themselves, the entries of two positions interleave pairwise, and vpdpwssd
// adds each pair to the row's int32 lane (no 16-bit partial sums, no widening): about a
// third fewer instructions per lookup. Lane order: accumulator q, 128-bit lane i, element e
// holds row 16 i + 4 q + e.
__attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vnni"))) void lookup_sum_int16(
    const std::uint8_t* cols, std::int64_t R, const std::int32_t* rows, const std::int64_t* offset, std::int64_t count,
    const std::uint8_t* split, std::int32_t* acc) {
    const __m512i ones = _mm512_set1_epi16(1);
    alignas(64) std::int32_t lanes[8][16];
    // 128 rows per pass (two vectors of codes), so each position's tables are loaded once
    // for both.
    for (std::int64_t r0 = 0; r0 < R; r0 += 128) {
        const std::int64_t n = std::min<std::int64_t>(128, R - r0);
        const __mmask64 m0 = n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1;
        const __mmask64 m1 = n >= 128 ? ~__mmask64{0} : n > 64 ? (__mmask64{1} << (n - 64)) - 1 : 0;
        __m512i a[8];
        for (auto& x : a) x = _mm512_setzero_si512();
        for (std::int64_t j = 0; j < count; j += 2) {
            const bool pair = j + 1 < count;
            const std::uint8_t* c0 = cols + rows[j] * R + r0;
            const std::uint8_t* c1 = pair ? cols + rows[j + 1] * R + r0 : c0;
            const std::uint8_t* t0 = split + offset[j];
            const std::uint8_t* t1 = pair ? split + offset[j + 1] : t0;
            for (int v = 0; v < 2; ++v) {
                const __mmask64 mask = v == 0 ? m0 : m1;
                __m512i x0, y0, x1 = _mm512_setzero_si512(), y1 = x1;
                entries64(c0 + 64 * v, mask, t0, x0, y0);
                if (pair) entries64(c1 + 64 * v, mask, t1, x1, y1);
                a[4 * v] = _mm512_dpwssd_epi32(a[4 * v], _mm512_unpacklo_epi16(x0, x1), ones);
                a[4 * v + 1] = _mm512_dpwssd_epi32(a[4 * v + 1], _mm512_unpackhi_epi16(x0, x1), ones);
                a[4 * v + 2] = _mm512_dpwssd_epi32(a[4 * v + 2], _mm512_unpacklo_epi16(y0, y1), ones);
                a[4 * v + 3] = _mm512_dpwssd_epi32(a[4 * v + 3], _mm512_unpackhi_epi16(y0, y1), ones);
            }
        }
        for (int q = 0; q < 8; ++q) _mm512_store_si512(lanes[q], a[q]);
        for (int v = 0; v < 2; ++v)
            for (int q = 0; q < 4; ++q)
                for (int i = 0; i < 4; ++i)
                    for (int e = 0; e < 4; ++e) {
                        const std::int64_t row = 64 * v + 16 * i + 4 * q + e;
                        if (row < n) acc[r0 + row] = lanes[4 * v + q][4 * i + e];
                    }
    }
}

bool cpu_has_vnni() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni");
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
    static const bool vnni = cpu_has_vnni();
    if (high_signed && vnni) {
        lookup_sum_int16(cols, R, rows, offset, count, split, acc);
        return;
    }
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
