#include "int8_conv.hpp"

#include <hawx/sdk/error.hpp>

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include <tbb/parallel_for.h>

namespace hawx::engine::detail {

namespace {

constexpr std::int64_t kRows = 12;     // rows (output positions) per micro-tile
constexpr std::int64_t kFilters = 32;  // filters per micro-tile: two 16-lane int32 vectors
// Reduction slice (bytes of a row): a filter panel's slice (32 x 4 KiB) stays in L2 while
// every micro-tile of the row block passes over it, however long the rows are.
constexpr std::int64_t kSlice = 4096;

// One micro-tile: C[12][32] (row stride ldc) = A[12][4 * k4n] (u8, row stride lda) x B (s8,
// packed [k4n][32][4]), added to C when `accumulate`. vpdpbusd multiplies four u8 by four s8
// and adds the four products to an int32 lane without intermediate saturation, so every
// lane is the exact dot product.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void micro_tile(const std::uint8_t* A, std::int64_t lda,
                                                                      const std::int8_t* B, std::int64_t k4n,
                                                                      std::int32_t* C, std::int64_t ldc,
                                                                      bool accumulate) {
    __m512i acc[2 * kRows];
#pragma GCC unroll 12
    for (int i = 0; i < kRows; ++i) {
        acc[2 * i] = accumulate ? _mm512_loadu_si512(C + i * ldc) : _mm512_setzero_si512();
        acc[2 * i + 1] = accumulate ? _mm512_loadu_si512(C + i * ldc + 16) : _mm512_setzero_si512();
    }
    for (std::int64_t k4 = 0; k4 < k4n; ++k4) {
        const __m512i b0 = _mm512_loadu_si512(B + k4 * 128);
        const __m512i b1 = _mm512_loadu_si512(B + k4 * 128 + 64);
#pragma GCC unroll 12
        for (int i = 0; i < kRows; ++i) {
            std::int32_t word;
            std::memcpy(&word, A + i * lda + k4 * 4, 4);
            const __m512i a = _mm512_set1_epi32(word);
            acc[2 * i] = _mm512_dpbusd_epi32(acc[2 * i], a, b0);
            acc[2 * i + 1] = _mm512_dpbusd_epi32(acc[2 * i + 1], a, b1);
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < kRows; ++i) {
        _mm512_storeu_si512(C + i * ldc, acc[2 * i]);
        _mm512_storeu_si512(C + i * ldc + 16, acc[2 * i + 1]);
    }
}

bool cpu_has_vnni() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
}

std::int64_t round_up(std::int64_t x, std::int64_t m) { return (x + m - 1) / m * m; }

// memcpy for long spans; a plain loop for the few bytes of a thin layer (LeNet-5's first
// conv copies 5 bytes per kernel row), where the call would cost more than the copy.
inline void copy_bytes(std::uint8_t* dst, const std::uint8_t* src, std::int64_t n) {
    if (n >= 32) {
        std::memcpy(dst, src, static_cast<std::size_t>(n));
        return;
    }
    for (std::int64_t i = 0; i < n; ++i) dst[i] = src[i];
}

// Per-thread work space, reused across calls (allocating it per call cost page faults).
struct Scratch {
    std::vector<std::uint8_t> image, rows;
    std::vector<std::int32_t> tile;
    std::vector<std::int64_t> base;
};
Scratch& scratch() {
    static thread_local Scratch s;
    return s;
}

}  // namespace

bool int8_kernel_available() {
    static const bool cpu = cpu_has_vnni();
    const char* env = std::getenv("HAWX_ENGINE_INT8");
    return cpu && !(env != nullptr && std::string(env) == "0");
}

std::unique_ptr<Int8Conv> Int8Conv::build(const Geometry& g, const at::Tensor& weights,
                                          const std::vector<const std::vector<float>*>& luts,
                                          const std::vector<bool>& allowed, const std::vector<std::int64_t>& cst) {
    if (g.G != 1 || luts.empty()) return nullptr;
    const std::int64_t T = static_cast<std::int64_t>(luts.size()), khw = g.kh * g.kw, S = T * g.Cg;
    const std::int64_t nf = weights.size(0);
    const at::Tensor w = weights.contiguous();
    if (w.scalar_type() != at::kInt) throw hawx::Error("int8 kernel: stacked weights must be int32");
    const std::int32_t* wi = w.data_ptr<std::int32_t>();
    const std::int64_t B = g.Cg * khw;  // one term's weights of one filter, contiguous
    std::vector<std::int32_t> vmax_of(static_cast<std::size_t>(T), 0);  // per term, largest |v|
    std::mutex merge;
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, nf, 8), [&](const tbb::blocked_range<std::int64_t>& fr) {
        std::vector<std::int32_t> local(static_cast<std::size_t>(T), 0);
        for (std::int64_t f = fr.begin(); f < fr.end(); ++f)
            for (std::int64_t t = 0; t < T; ++t) {
                const std::int32_t* x = wi + (f * T + t) * B;
                std::int32_t mx = 0;
                for (std::int64_t i = 0; i < B; ++i) mx = std::max(mx, x[i] < 0 ? -x[i] : x[i]);
                local[static_cast<std::size_t>(t)] = std::max(local[static_cast<std::size_t>(t)], mx);
            }
        const std::lock_guard<std::mutex> lock(merge);
        for (std::int64_t t = 0; t < T; ++t)
            vmax_of[static_cast<std::size_t>(t)] = std::max(vmax_of[static_cast<std::size_t>(t)], local[static_cast<std::size_t>(t)]);
    });
    const auto block = [&](std::int64_t f, std::int64_t t) { return wi + (f * T + t) * B; };

    // Each term becomes one or more u8 x s8 parts. u' = u - umin must span at most 255. A
    // weight outside [-128, 127] (a table form's v reaches 2^14 for BAM) is written in digits
    // v = d0 + M (d1 + d2 + ...), M = floor(255 / span of u'): part 0 multiplies u' by d0,
    // the others M u' (still <= 255) by d_i.
    std::vector<std::int64_t> umin(static_cast<std::size_t>(T)), mult(static_cast<std::size_t>(T), 0),
        first(static_cast<std::size_t>(T), 0), digits(static_cast<std::size_t>(T), 0);
    std::vector<std::int64_t> part_term, part_mult;
    for (std::int64_t t = 0; t < T; ++t) {
        const std::vector<float>& lut = *luts[static_cast<std::size_t>(t)];
        double lo = INFINITY, hi = -INFINITY;
        for (std::size_t c = 0; c < 256; ++c)
            if (allowed[c]) {
                if (lut[c] != std::floor(lut[c])) return nullptr;
                lo = std::min<double>(lo, lut[c]), hi = std::max<double>(hi, lut[c]);
            }
        if (!(hi - lo <= 255.0)) return nullptr;
        umin[static_cast<std::size_t>(t)] = static_cast<std::int64_t>(lo);
        const std::int64_t span = static_cast<std::int64_t>(hi - lo);
        if (span == 0) continue;  // a constant term: only umin * sum v remains
        const std::int64_t vmax = vmax_of[static_cast<std::size_t>(t)];
        std::int64_t D = 1;
        if (vmax > 127) {
            const std::int64_t M = 255 / span;
            if (M < 2) return nullptr;
            mult[static_cast<std::size_t>(t)] = M;
            D = 1 + (vmax / M + 1 + 126) / 127;
            if (D > 4) return nullptr;
        }
        first[static_cast<std::size_t>(t)] = static_cast<std::int64_t>(part_term.size());
        digits[static_cast<std::size_t>(t)] = D;
        for (std::int64_t d = 0; d < D; ++d) part_term.push_back(t), part_mult.push_back(d == 0 ? 1 : mult[static_cast<std::size_t>(t)]);
    }
    const std::int64_t parts = static_cast<std::int64_t>(part_term.size());
    if (parts == 0) return nullptr;  // every term constant (a one-code activation range)
    // A first layer with few terms on 1-3 input channels copies a few bytes per kernel row
    // per position; there the float conv is faster (LeNet-5's conv1 with the exact block:
    // 0.55 ms float, 0.7-1.0 ms integer).
    if (!g.linear && parts * g.Cg < 8) return nullptr;

    auto k = std::make_unique<Int8Conv>();
    Int8Conv& m = *k;
    m.g_ = g;
    m.T_ = parts;
    m.TC_ = parts * g.Cg;
    m.Kq_ = khw * m.TC_;
    m.K4_ = round_up(m.Kq_, 4);
    m.nf_ = nf;
    m.fblocks_ = (nf + kFilters - 1) / kFilters;
    for (std::int64_t pi = 0; pi < parts; ++pi) {
        const std::int64_t t = part_term[static_cast<std::size_t>(pi)], mul = part_mult[static_cast<std::size_t>(pi)];
        const std::vector<float>& lut = *luts[static_cast<std::size_t>(t)];
        const std::int64_t lo = umin[static_cast<std::size_t>(t)];
        std::array<std::uint8_t, 256> l{};
        for (std::size_t c = 0; c < 256; ++c)
            if (allowed[c]) l[c] = static_cast<std::uint8_t>((static_cast<std::int64_t>(lut[c]) - lo) * mul);
        m.lut_.push_back(l);
        m.pad_.push_back(static_cast<std::uint8_t>(-lo * mul));  // u_t(zero code) = 0
    }
    m.packed_.assign(static_cast<std::size_t>(m.fblocks_ * m.K4_ * kFilters), 0);
    m.cst_.resize(static_cast<std::size_t>(nf));
    // Each filter's row is written in order into `staged`, then moved into the packed panel
    // four bytes at a time (writing the panel byte by byte missed the cache at every byte).
    // Filters are independent (own panel slots, own constant): blocks of them run in parallel,
    // which matters where kernels are rebuilt at every fine-tuning step.
    std::atomic<bool> failed{false};
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, nf, 8), [&](const tbb::blocked_range<std::int64_t>& fr) {
    std::vector<std::int8_t> staged(static_cast<std::size_t>(m.K4_));
    for (std::int64_t f = fr.begin(); f < fr.end() && !failed; ++f) {
        std::int64_t shift = 0;
        double bound = 0;
        std::fill(staged.begin(), staged.end(), std::int8_t{0});
        std::int8_t* panel = staged.data();
        for (std::int64_t t = 0; t < T; ++t) {
            const std::int32_t* b = block(f, t);
            const std::int64_t lo = umin[static_cast<std::size_t>(t)], D = digits[static_cast<std::size_t>(t)];
            const std::int64_t M = mult[static_cast<std::size_t>(t)], p0 = first[static_cast<std::size_t>(t)];
            // Branch-free where it matters: weights are zero or not at random, and a
            // mispredicted skip cost more than writing the zero.
            if (D == 1 && M == 0) {
                std::int64_t sum = 0, mag = 0;
                bool fits = true;
                for (std::int64_t ij = 0; ij < khw; ++ij) {
                    std::int8_t* dst = panel + ij * m.TC_ + p0 * g.Cg;
                    for (std::int64_t c = 0; c < g.Cg; ++c) {
                        const std::int32_t v = b[c * khw + ij];
                        dst[c] = static_cast<std::int8_t>(v);
                        fits &= v >= -128 && v <= 127;
                        sum += v, mag += std::abs(v);
                    }
                }
                if (!fits) {
                    failed = true;
                    return;
                }
                shift += lo * sum;
                bound += 255.0 * static_cast<double>(mag);
                continue;
            }
            for (std::int64_t c = 0; c < g.Cg; ++c)
                for (std::int64_t ij = 0; ij < khw; ++ij) {
                    const std::int64_t v = b[c * khw + ij];
                    shift += lo * v;
                    // Digits: d0 = v - M q (|d0| <= M / 2 <= 127), then q in pieces of <= 127.
                    std::int64_t q = M == 0 ? 0 : (v >= 0 ? (2 * v + M) / (2 * M) : -((-2 * v + M) / (2 * M)));
                    for (std::int64_t d = 0; d < D; ++d) {
                        std::int64_t x;
                        if (d == 0) {
                            x = v - M * q;
                        } else {
                            x = std::clamp<std::int64_t>(q, -127, 127);
                            q -= x;
                        }
                        if (x < -128 || x > 127) {
                            failed = true;
                            return;
                        }
                        panel[ij * m.TC_ + (p0 + d) * g.Cg + c] = static_cast<std::int8_t>(x);
                        bound += 255.0 * static_cast<double>(std::abs(x));
                    }
                    if (q != 0 && D > 0) {  // the digits must give the weight back
                        failed = true;
                        return;
                    }
                }
        }
        if (bound > 2147483647.0) {  // int32 lanes must hold every partial sum
            failed = true;
            return;
        }
        m.cst_[static_cast<std::size_t>(f)] = cst[static_cast<std::size_t>(f)] + shift;
        std::int8_t* out = m.packed_.data() + (f / kFilters) * m.K4_ * kFilters + (f % kFilters) * 4;
        for (std::int64_t k4 = 0; k4 < m.K4_ / 4; ++k4) std::memcpy(out + k4 * kFilters * 4, panel + k4 * 4, 4);
    }
    });
    if (failed) return nullptr;
    return k;
}

at::Tensor Int8Conv::run(const at::Tensor& codes, std::int64_t N, std::int64_t H, std::int64_t W, std::int64_t OH,
                         std::int64_t OW, at::ScalarType dtype) const {
    const Geometry& g = g_;
    const std::int64_t P = g.linear ? 1 : OH * OW, rows = N * P;
    at::Tensor out = g.linear ? at::empty({N, nf_}, codes.options().dtype(dtype))
                              : at::empty({N, nf_, OH, OW}, codes.options().dtype(dtype));
    const std::uint8_t* src = codes.data_ptr<std::uint8_t>();
    const bool dbl = dtype == at::kDouble;
    float* outf = dbl ? nullptr : out.data_ptr<float>();
    double* outd = dbl ? out.data_ptr<double>() : nullptr;
    // Rows per block: up to 240, fewer for long rows so a block stays within ~4 MiB; blocks
    // run across image boundaries (deep layers have few positions per image).
    const std::int64_t rb = std::clamp<std::int64_t>((4194304 / K4_) / kRows * kRows, kRows, 20 * kRows);
    const std::int64_t nfp = fblocks_ * kFilters;
    const std::int64_t Hp = H + 2 * g.ph, Wp = W + 2 * g.pw;
    // Without dilation a kernel row's kw pixels are adjacent in the image and in the row.
    const std::int64_t span = g.dw == 1 ? g.kw * TC_ : TC_, spans = g.dw == 1 ? 1 : g.kw;

    // The image's transformed values, channels last (pixel = parts x C bytes, part-major),
    // inside a border of padded pixels.
    const auto transform = [&](std::int64_t n, std::uint8_t* img) {
        if (g.ph > 0 || g.pw > 0) {
            std::vector<std::uint8_t> pad(static_cast<std::size_t>(TC_));
            for (std::int64_t t = 0; t < T_; ++t)
                std::fill(pad.begin() + t * g.Cg, pad.begin() + (t + 1) * g.Cg, pad_[static_cast<std::size_t>(t)]);
            for (std::int64_t h = 0; h < Hp; ++h)
                for (std::int64_t w = 0; w < Wp; ++w)
                    if (h < g.ph || h >= g.ph + H || w < g.pw || w >= g.pw + W)
                        std::memcpy(img + (h * Wp + w) * TC_, pad.data(), static_cast<std::size_t>(TC_));
        }
        for (std::int64_t c = 0; c < g.C; ++c)
            for (std::int64_t h = 0; h < H; ++h) {
                const std::uint8_t* row = src + ((n * g.C + c) * H + h) * W;
                std::uint8_t* dst = img + ((h + g.ph) * Wp + g.pw) * TC_ + c;
                for (std::int64_t t = 0; t < T_; ++t) {
                    const auto& lut = lut_[static_cast<std::size_t>(t)];
                    std::uint8_t* d = dst + t * g.Cg;
                    for (std::int64_t w = 0; w < W; ++w) d[w * TC_] = lut[row[w]];
                }
            }
    };

    // A task takes whole images (each image is transformed once): one image when it has at
    // least a block of positions, else as many as fill a block.
    const std::int64_t per_task = std::max<std::int64_t>(1, rb / P);
    const std::int64_t tasks = (N + per_task - 1) / per_task;
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, tasks, 1), [&](const tbb::blocked_range<std::int64_t>& br) {
        Scratch& s = scratch();
        if (!g.linear) s.image.resize(static_cast<std::size_t>(Hp * Wp * TC_));
        s.rows.assign(static_cast<std::size_t>(rb * K4_), 0);
        s.tile.resize(static_cast<std::size_t>(rb * nfp));
        s.base.resize(static_cast<std::size_t>(rb));
        std::int64_t have = -1;  // the image in s.image
        const std::int64_t task_end = std::min(rows, br.end() * per_task * P);
        for (std::int64_t r0 = br.begin() * per_task * P; r0 < task_end; r0 += rb) {
            const std::int64_t nr = std::min(rb, task_end - r0);
            // Rows: the operand bytes of each output position.
            for (std::int64_t r = 0; r < nr; ++r) {
                std::uint8_t* a = s.rows.data() + r * K4_;
                const std::int64_t n = (r0 + r) / P, p = (r0 + r) % P;
                s.base[static_cast<std::size_t>(r)] = n * nf_ * P + p;
                if (g.linear) {
                    const std::uint8_t* row = src + n * g.K;
                    for (std::int64_t t = 0; t < T_; ++t) {
                        const auto& lut = lut_[static_cast<std::size_t>(t)];
                        for (std::int64_t k = 0; k < g.K; ++k) a[t * g.K + k] = lut[row[k]];
                    }
                    continue;
                }
                if (n != have) transform(n, s.image.data()), have = n;
                const std::int64_t oh = p / OW, ow = p % OW;
                for (std::int64_t i = 0; i < g.kh; ++i)
                    for (std::int64_t j = 0; j < spans; ++j)
                        copy_bytes(a + (i * g.kw + j) * TC_,
                                   s.image.data() + ((oh * g.sh + i * g.dh) * Wp + ow * g.sw + j * g.dw) * TC_, span);
            }
            // Products, slice by slice of the reduction.
            for (std::int64_t k0 = 0; k0 < K4_; k0 += kSlice) {
                const std::int64_t kn = std::min(kSlice, K4_ - k0);
                for (std::int64_t fb = 0; fb < fblocks_; ++fb) {
                    const std::int8_t* B = packed_.data() + (fb * K4_ + k0) * kFilters;
                    for (std::int64_t m0 = 0; m0 < nr; m0 += kRows)
                        micro_tile(s.rows.data() + m0 * K4_ + k0, K4_, B, kn / 4, s.tile.data() + m0 * nfp + fb * kFilters,
                                   nfp, k0 > 0);
                }
            }
            // Accumulators plus constants, to [N, F, positions].
            for (std::int64_t f = 0; f < nf_; ++f) {
                const std::int64_t c = cst_[static_cast<std::size_t>(f)];
                for (std::int64_t r = 0; r < nr; ++r) {
                    const std::int64_t o = s.base[static_cast<std::size_t>(r)] + f * P;
                    const std::int64_t v = s.tile[static_cast<std::size_t>(r * nfp + f)] + c;
                    if (dbl) outd[o] = static_cast<double>(v);
                    else outf[o] = static_cast<float>(v);
                }
            }
        }
    });
    return out;
}

}  // namespace hawx::engine::detail
