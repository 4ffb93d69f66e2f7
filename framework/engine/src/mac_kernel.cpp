#include "mac_kernel.hpp"

#include <ATen/Parallel.h>
#include <hawx/framework/mac_block.hpp>
#include <hawx/sdk/error.hpp>

#include <algorithm>
#include <map>
#include <sstream>
#include <tuple>

#include <tbb/parallel_for.h>

namespace hawx::engine::detail {

namespace {

const CompiledBlock& block_of(const BlockLibrary& lib, const LayerAssignment& a, std::int64_t f, std::int64_t k,
                              std::int64_t K) {
    std::size_t i = 0;
    switch (a.granularity) {
        case Granularity::Layer: i = static_cast<std::size_t>(a.units[0]); break;
        case Granularity::Filter: i = static_cast<std::size_t>(a.units[static_cast<std::size_t>(f)]); break;
        case Granularity::Operation: i = static_cast<std::size_t>(a.units[static_cast<std::size_t>(f * K + k)]); break;
    }
    return *lib[i];
}

// The integer an 8-bit code stands for in the products (int8 when signed).
std::int32_t code_value(std::uint32_t code, bool is_signed) {
    return is_signed && code >= 128 ? static_cast<std::int32_t>(code) - 256 : static_cast<std::int32_t>(code);
}

// Filters f0..f1 (inclusive) were summed together when a result left the adder's range.
[[noreturn]] void overflow(const MacFilter& mf, const std::string& label, std::int64_t f0, std::int64_t f1,
                           std::int64_t value) {
    throw Error(label + ": " + (f0 == f1 ? "filter " + std::to_string(f0) : "filters " + std::to_string(f0) + "-" + std::to_string(f1)) +
                ": a sum reached " + std::to_string(value) + ", outside adder '" +
                mf.adder_name + "' ([" + std::to_string(mf.lo) + ", " + std::to_string(mf.hi) +
                "]); use a wider adder or one that wraps or saturates (overflow wrap|saturate)");
}

// The element-wise loops of the kernel, in an AVX2 copy where the CPU has AVX2 (the file is
// compiled -O3 so they vectorize; see CMakeLists.txt).
#define HAWX_MAC_LOOPS(attr, suffix)                                                                            \
    attr void extremes_##suffix(const std::int64_t* v, std::int64_t n, std::int64_t& lo, std::int64_t& hi) {   \
        std::int64_t l = lo, h = hi;                                                                          \
        for (std::int64_t i = 0; i < n; ++i) l = v[i] < l ? v[i] : l, h = v[i] > h ? v[i] : h;                \
        lo = l, hi = h;                                                                                       \
    }                                                                                                         \
    attr void lookup_##suffix(const std::int32_t* c, const std::uint8_t* x, std::int64_t* v, std::int64_t n) { \
        for (std::int64_t i = 0; i < n; ++i) v[i] = c[x[i]];                                                  \
    }                                                                                                         \
    attr void gather_add4_##suffix(const std::int64_t* c0, const std::int64_t* c1, const std::int64_t* c2,         \
                                   const std::int64_t* c3, const std::uint8_t* x, std::int64_t n, std::int64_t* v) { \
        const std::uint8_t *x1 = x + n, *x2 = x + 2 * n, *x3 = x + 3 * n;                                       \
        for (std::int64_t i = 0; i < n; ++i) v[i] += c0[x[i]] + c1[x1[i]] + c2[x2[i]] + c3[x3[i]];              \
    }                                                                                                         \
    attr void gather_add_##suffix(const std::int64_t* c, const std::uint8_t* x, std::int64_t n, std::int64_t* v) { \
        for (std::int64_t i = 0; i < n; ++i) v[i] += c[x[i]];                                                \
    }                                                                                                         \
    attr void abs_dot_##suffix(const std::int16_t* a, const std::int32_t* w, std::int64_t K, std::int64_t n,     \
                               std::int32_t* v) {                                                             \
        for (std::int64_t k = 0; k < K; ++k) {                                                                \
            const std::int32_t wk = w[k];                                                                     \
            const std::int16_t* x = a + k * n;                                                                \
            for (std::int64_t i = 0; i < n; ++i) v[i] += x[i] * wk;                                           \
        }                                                                                                     \
    }                                                                                                         \
    attr void plain_add_##suffix(const std::int64_t* a, const std::int64_t* b, std::int64_t* out, std::int64_t n) { \
        _Pragma("GCC ivdep") for (std::int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];                       \
    }
HAWX_MAC_LOOPS(__attribute__((target("avx2"))), avx2)
HAWX_MAC_LOOPS(, base)
#undef HAWX_MAC_LOOPS

const bool kAvx2 = __builtin_cpu_supports("avx2");

void extremes(const std::int64_t* v, std::int64_t n, std::int64_t& lo, std::int64_t& hi) {
    kAvx2 ? extremes_avx2(v, n, lo, hi) : extremes_base(v, n, lo, hi);
}
void lookup(const std::int32_t* c, const std::uint8_t* x, std::int64_t* v, std::int64_t n) {
    kAvx2 ? lookup_avx2(c, x, v, n) : lookup_base(c, x, v, n);
}

// v[r] += sum_k a[k * n + r] * w[k] (|activation| x |weight|, the certificate's bound).
void abs_dot(const std::int16_t* a, const std::int32_t* w, std::int64_t K, std::int64_t n, std::int32_t* v) {
    (kAvx2 ? abs_dot_avx2 : abs_dot_base)(a, w, K, n, v);
}

// v[r] += sum over k in [k0, k1) of packed[k][x[k * n + r]], four columns per pass.
void gather_sum(const std::int64_t* const* packed, const std::uint8_t* x, std::int64_t n, std::int64_t k0, std::int64_t k1,
                std::int64_t* v) {
    std::int64_t k = k0;
    for (; k + 4 <= k1; k += 4)
        (kAvx2 ? gather_add4_avx2 : gather_add4_base)(packed[k], packed[k + 1], packed[k + 2], packed[k + 3], x + k * n, n, v);
    for (; k < k1; ++k) (kAvx2 ? gather_add_avx2 : gather_add_base)(packed[k], x + k * n, n, v);
}

// The closed-form sum of a filter's products over a tile of `n` rows (MacFilter::closed):
// per chunk, the packed entries add up to the upper parts' sum and per-bit counts of the low
// parts; the adder's rule then gives the low part and the carries (see AdderSplit).
void closed_sum(const MacFilter& mf, const std::int64_t* const* packed, const std::uint8_t* cols, std::int64_t n,
                std::int64_t K, std::vector<std::int64_t>& scratch, std::int64_t* out) {
    const int k = mf.split.k, b = mf.field;
    const bool counts = mf.split.rule != SplitRule::Zero;
    scratch.assign(static_cast<std::size_t>(n * (1 + (counts ? k : 0)) + n), 0);
    std::int64_t* hi = scratch.data();
    std::int64_t* cnt = hi + n;  // [j][r]
    std::int64_t* s = cnt + (counts ? k : 0) * n;
    if (!counts) {
        gather_sum(packed, cols, n, 0, K, hi);
    } else {
        const std::int64_t low_mask = (std::int64_t{1} << (b * k)) - 1, field_mask = (std::int64_t{1} << b) - 1;
        for (std::int64_t c0 = 0; c0 < K; c0 += mf.chunk) {
            std::fill_n(s, n, 0);
            gather_sum(packed, cols, n, c0, std::min(K, c0 + mf.chunk), s);
            for (std::int64_t r = 0; r < n; ++r) hi[r] += (s[r] - (s[r] & low_mask)) >> (b * k);
            for (int j = 0; j < k; ++j) {
                std::int64_t* cj = cnt + j * n;
                for (std::int64_t r = 0; r < n; ++r) cj[r] += (s[r] >> (b * j)) & field_mask;
            }
        }
    }
    const std::int64_t scale = std::int64_t{1} << k, span = mf.hi - mf.lo + 1;
    for (std::int64_t r = 0; r < n; ++r) {
        std::int64_t v = hi[r], low = 0;
        if (counts) {
            int top = -1;
            for (int j = 0; j < k; ++j) {
                const std::int64_t c = cnt[j * n + r];
                if (c > 0) low |= std::int64_t{1} << j;
                if (c > 1) top = j;
            }
            if (mf.split.rule == SplitRule::Or) v += std::max<std::int64_t>(cnt[(k - 1) * n + r] - 1, 0);
            else if (top >= 0) low |= (std::int64_t{2} << top) - 1;
        }
        v = v * scale + low;
        if (mf.split.wraps) v = mf.lo + ((v - mf.lo) % span + span) % span;
        out[r] = v;
    }
}

// One batched addition out = add(a, b) through the filter's adder, checked against its range.
void add_checked(const MacFilter& mf, const std::int64_t* a, const std::int64_t* b, std::int64_t* out, std::int64_t n,
                 const std::string& label, std::int64_t f0, std::int64_t f1) {
    if (!mf.adder) {
        kAvx2 ? plain_add_avx2(a, b, out, n) : plain_add_base(a, b, out, n);
        return;
    }
    mf.adder->add_n(a, b, out, static_cast<std::size_t>(n));
    std::int64_t lo = mf.lo, hi = mf.hi;
    extremes(out, n, lo, hi);
    if (lo < mf.lo) overflow(mf, label, f0, f1, lo);
    if (hi > mf.hi) overflow(mf, label, f0, f1, hi);
}

// Sums `count` rows of `width` values (row j at vals + j * width) into row 0 through the
// binary tree of AccumulationOrder: level by level, node i = add(node 2i, node 2i+1), an
// odd last node passed up.
void tree_sum(const MacFilter& mf, std::int64_t* vals, std::int64_t count, std::int64_t width, const std::string& label,
              std::int64_t f0, std::int64_t f1) {
    while (count > 1) {
        const std::int64_t pairs = count / 2;
        for (std::int64_t i = 0; i < pairs; ++i)
            add_checked(mf, vals + 2 * i * width, vals + (2 * i + 1) * width, vals + i * width, width, label, f0, f1);
        if (count % 2) std::copy_n(vals + (count - 1) * width, width, vals + pairs * width);
        count = pairs + count % 2;
    }
}

}  // namespace

MacFilter filter_accumulation(const Geometry& g, const BlockLibrary& library, const LayerAssignment& a, std::int64_t f,
                              const std::string& label, int auto_tree) {
    const CompiledBlock& first = block_of(library, a, f, 0, g.K);
    if (a.granularity == Granularity::Operation)
        for (std::int64_t k = 1; k < g.K; ++k) {
            const CompiledBlock& b = block_of(library, a, f, k, g.K);
            if (b.adder != first.adder || b.tree != first.tree)
                throw Error(label + ": filter " + std::to_string(f) + " mixes blocks " + first.name + " and " + b.name +
                            " of different adders or orders; the products of one output share one accumulator");
        }
    MacFilter mf;
    if (!first.adder) return mf;
    mf.adder = first.adder.get();
    mf.adder_name = first.adder_name;
    mf.tree = first.tree == 0 ? std::max(1, auto_tree) : first.tree;
    mf.split = first.adder_split;
    const int bits = first.adder->activation_bits();
    const bool s = first.adder->is_signed();
    mf.lo = s ? -(std::int64_t{1} << (bits - 1)) : 0;
    mf.hi = s ? (std::int64_t{1} << (bits - 1)) - 1 : (std::int64_t{1} << bits) - 1;
    return mf;
}

MacPart build_mac(const Geometry& g, const LayerDesc& layer, const WeightQuant& wq, std::int32_t za,
                  const BlockLibrary& library, const LayerAssignment& a, int auto_tree) {
    MacPart part;
    part.label = layer_label(layer);
    part.with_asum = !wq.is_signed;
    const at::Tensor wc = wq.codes.contiguous();
    const std::uint8_t* w = wc.data_ptr<std::uint8_t>();
    std::map<std::pair<const CompiledBlock*, std::uint32_t>, std::size_t> made;
    part.columns.reserve(static_cast<std::size_t>(std::min<std::int64_t>(g.F * g.K, 256 * 64)));
    std::vector<std::pair<const CompiledBlock*, std::uint32_t>> keys(static_cast<std::size_t>(g.F * g.K));
    for (std::int64_t f = 0; f < g.F; ++f)
        for (std::int64_t k = 0; k < g.K; ++k) {
            const CompiledBlock* b = &block_of(library, a, f, k, g.K);
            const std::uint32_t code = w[f * g.K + k];
            keys[static_cast<std::size_t>(f * g.K + k)] = {b, code};
            if (made.count({b, code})) continue;
            made[{b, code}] = part.columns.size();
            std::vector<std::int32_t> col(256);
            for (std::uint32_t x = 0; x < 256; ++x) col[x] = b->lookup(x, code);
            part.columns.push_back(std::move(col));
        }
    // Pointers only after every column exists (the vector no longer moves).
    part.column.resize(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) part.column[i] = part.columns[made[keys[i]]].data();
    part.group_filters.assign(static_cast<std::size_t>(g.G), {});
    for (std::int64_t f = 0; f < g.F; ++f) {
        MacFilter mf = filter_accumulation(g, library, a, f, part.label, auto_tree);
        if (!wq.is_signed) {
            mf.zw = wq.zero[static_cast<std::size_t>(f)];
            for (std::int64_t k = 0; k < g.K; ++k)
                mf.cst += -static_cast<std::int64_t>(za) * w[f * g.K + k] + static_cast<std::int64_t>(za) * mf.zw;
        }
        part.filters.push_back(std::move(mf));
        part.group_filters[static_cast<std::size_t>(f / g.Fg)].push_back(f);
    }
    // Closed form where the adder declares a split and no partial sum, in any order, can
    // leave its range: an approximate partial sum of a subset S of products lies within
    // (|S| + 1) * 2^k of the exact one for these rules, and the exact one within the
    // subset-sum bounds of the columns.
    std::map<std::tuple<std::size_t, int, int>, std::size_t> packed_made;
    std::vector<std::pair<std::size_t, std::size_t>> packed_use;  // (f * K + k, storage)
    for (std::int64_t f = 0; f < g.F; ++f) {
        MacFilter& mf = part.filters[static_cast<std::size_t>(f)];
        if (!mf.adder || mf.split.rule == SplitRule::None) continue;
        const int k = mf.split.k;
        std::int64_t neg = 0, pos = 0, big = 0;
        for (std::int64_t j = 0; j < g.K; ++j) {
            const std::int32_t* c = part.column[static_cast<std::size_t>(f * g.K + j)];
            const auto [mn, mx] = std::minmax_element(c, c + 256);
            neg += std::min<std::int64_t>(*mn, 0), pos += std::max<std::int64_t>(*mx, 0);
            big = std::max<std::int64_t>({big, -std::int64_t{*mn}, *mx});
        }
        const std::int64_t margin = (g.K + 1) << k;
        const bool proven = mf.split.wraps || (neg - margin >= mf.lo && pos + margin <= mf.hi);
        if (!proven) {
            mf.monotone = neg >= 0;
            // |a||w| sums in int32 per row: fan-ins up to 2^31 / 2^16.
            if (!mf.monotone && g.K > 32767) continue;
            mf.checked = true;
            if (!mf.monotone) {
                if (part.abs_w.empty()) part.abs_w.assign(static_cast<std::size_t>(g.F * g.K), 0);
                std::int64_t worst = 0;
                for (std::int64_t j = 0; j < g.K; ++j) {
                    const std::int32_t* c = part.column[static_cast<std::size_t>(f * g.K + j)];
                    const std::int32_t wv = code_value(w[f * g.K + j], wq.is_signed);
                    part.abs_w[static_cast<std::size_t>(f * g.K + j)] = std::abs(wv);
                    std::int64_t e = 0;
                    for (std::uint32_t x = 0; x < 256; ++x)
                        e = std::max<std::int64_t>(e, std::abs(std::int64_t{c[x]} - std::int64_t{code_value(x, wq.is_signed)} * wv));
                    worst += e;
                }
                mf.slack = worst + margin;
            }
        }
        int pbits = 1;
        while ((std::int64_t{1} << pbits) <= big) ++pbits;
        if (mf.split.rule == SplitRule::Zero) {
            mf.field = 0;
            mf.chunk = g.K;
        } else {
            // Chunk sums hold k count fields of `field` bits and the upper parts' sum above them.
            mf.field = std::min(16, (62 - pbits + k) / (k + 1));
            if (mf.field < 2) continue;
            mf.chunk = std::min<std::int64_t>(g.K, (std::int64_t{1} << mf.field) - 1);
        }
        mf.closed = true;
        for (std::int64_t j = 0; j < g.K; ++j) {
            const std::size_t i = static_cast<std::size_t>(f * g.K + j), src = made[keys[i]];
            const auto key = std::make_tuple(src, k, mf.field);
            auto it = packed_made.find(key);
            if (it == packed_made.end()) {
                std::vector<std::int64_t> col(256);
                for (std::size_t x = 0; x < 256; ++x) {
                    const std::int64_t p = part.columns[src][x];
                    std::int64_t e = (p >> k) * (std::int64_t{1} << (mf.field * k));
                    if (mf.field > 0)
                        for (int b = 0; b < k; ++b) e += ((p >> b) & 1) << (mf.field * b);
                    col[x] = e;
                }
                it = packed_made.emplace(key, part.packed_columns.size()).first;
                part.packed_columns.push_back(std::move(col));
            }
            packed_use.emplace_back(i, it->second);
        }
    }
    part.is_signed = wq.is_signed;
    part.packed.assign(keys.size(), nullptr);
    for (const auto& [i, src] : packed_use) part.packed[i] = part.packed_columns[src].data();
    return part;
}

bool mac_needed(const Geometry& g, const WeightQuant& wq, const BlockLibrary& library, const LayerAssignment& a,
                int auto_tree) {
    bool any = false;
    for (const auto& b : library) any = any || b->adder;
    if (!any) return false;
    const at::Tensor wc = wq.codes.contiguous();
    const std::uint8_t* w = wc.data_ptr<std::uint8_t>();
    for (std::int64_t f = 0; f < g.F; ++f) {
        const CompiledBlock& b = block_of(library, a, f, 0, g.K);
        if (!b.adder) {
            if (a.granularity != Granularity::Operation) continue;
            for (std::int64_t k = 1; k < g.K; ++k)
                if (block_of(library, a, f, k, g.K).adder) return true;  // filter_accumulation refuses it
            continue;
        }
        if (!b.adder_exact || a.granularity == Granularity::Operation) return true;
        // An exact adder changes nothing while every partial sum (a subset sum of the
        // products, in any order) stays within its range.
        const MacFilter mf = filter_accumulation(g, library, a, f, "", auto_tree);
        std::int64_t neg = 0, pos = 0;
        for (std::int64_t k = 0; k < g.K; ++k) {
            std::int32_t lo = 0, hi = 0;
            const std::uint32_t code = w[f * g.K + k];
            for (std::uint32_t x = 0; x < 256; ++x) lo = std::min(lo, b.lookup(x, code)), hi = std::max(hi, b.lookup(x, code));
            neg += lo, pos += hi;
        }
        if (neg < mf.lo || pos > mf.hi) return true;
    }
    return false;
}

void fill_asum(std::int64_t K, const std::uint8_t* cols, std::int64_t nr, std::int64_t* asum) {
    std::fill_n(asum, nr, 0);
    for (std::int64_t k = 0; k < K; ++k) {
        const std::uint8_t* x = cols + k * nr;
        for (std::int64_t r = 0; r < nr; ++r) asum[r] += x[r];
    }
}

bool same_accumulation(const MacFilter& a, const MacFilter& b) {
    return a.adder == b.adder && a.tree == b.tree && a.lo == b.lo && a.hi == b.hi && !a.closed && !b.closed;
}

void run_mac(const Geometry& g, const MacPart& part, const std::uint8_t* codes, std::uint8_t zero_code, std::int64_t N,
             std::int64_t H, std::int64_t W, std::int64_t OH, std::int64_t OW, double* out) {
    const std::int64_t P = g.linear ? 1 : OH * OW;
    const std::int64_t rows = N * P;
    const std::int64_t R = std::clamp<std::int64_t>(65536 / std::max<std::int64_t>(g.K, 1), 16, 256);
    const std::int64_t tiles = (rows + R - 1) / R;
    const int threads = std::max(1, at::get_num_threads());
    const std::vector<TileTask> tasks = tile_tasks(g, part.group_filters, tiles, threads);
    // Filters of one accumulation are summed side by side: one add_n covers up to kBatch
    // sums (several filters' tiles), so the per-call cost is spread over more of them.
    constexpr std::int64_t kBatch = 4096, kBuffer = 32768;
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, tasks.size(), 1), [&](const tbb::blocked_range<std::size_t>& tr) {
        std::vector<std::uint8_t> cols(static_cast<std::size_t>(g.K * R));
        std::vector<std::int64_t> acc, asum(static_cast<std::size_t>(R)), vals;
        std::vector<std::int16_t> abs_a;
        std::vector<std::int32_t> bound;
        for (std::size_t ti = tr.begin(); ti < tr.end(); ++ti) {
            const TileTask& task = tasks[ti];
            const std::int64_t r0 = task.tile * R, nr = std::min(R, rows - r0);
            im2col_tile(g, codes, H, W, OH, OW, task.group, r0, nr, zero_code, cols.data());
            const auto& fl = part.group_filters[static_cast<std::size_t>(task.group)];
            // Zero-point terms of unsigned quantization stay exact (outside the MAC's adder).
            const auto write_out = [&](std::int64_t f, const std::int64_t* a) {
                const MacFilter& fb = part.filters[static_cast<std::size_t>(f)];
                for (std::int64_t r = 0; r < nr; ++r) {
                    const std::int64_t row = r0 + r, img = row / P, p = row % P;
                    const std::int64_t zp = part.with_asum ? -std::int64_t{fb.zw} * asum[static_cast<std::size_t>(r)] : 0;
                    out[(img * g.F + f) * P + p] = static_cast<double>(a[r] + zp + fb.cst);
                }
            };
            bool abs_ready = false;
            // Filters fi..fi+nb-1 (one accumulation) emulated add by add into acc.
            const auto emulate = [&](std::int64_t fi, std::int64_t nb) {
                const MacFilter& mf = part.filters[static_cast<std::size_t>(fl[static_cast<std::size_t>(fi)])];
                const std::int64_t S = std::min<std::int64_t>(mf.tree, g.K);
                const std::int64_t E = nb * nr;
                const std::int64_t f_first = fl[static_cast<std::size_t>(fi)], f_last = fl[static_cast<std::size_t>(fi + nb - 1)];
                acc.assign(static_cast<std::size_t>(E), 0);
                if (static_cast<std::int64_t>(vals.size()) < S * E) vals.resize(static_cast<std::size_t>(S * E));
                for (std::int64_t k0 = 0; k0 < g.K; k0 += S) {
                    const std::int64_t n = std::min(S, g.K - k0);
                    for (std::int64_t j = 0; j < n; ++j)
                        for (std::int64_t b = 0; b < nb; ++b) {
                            const std::int64_t f = fl[static_cast<std::size_t>(fi + b)];
                            lookup(part.column[static_cast<std::size_t>(f * g.K + k0 + j)], cols.data() + (k0 + j) * nr,
                                   vals.data() + j * E + b * nr, nr);
                        }
                    tree_sum(mf, vals.data(), n, E, part.label, f_first, f_last);
                    add_checked(mf, acc.data(), vals.data(), acc.data(), E, part.label, f_first, f_last);
                }
            };
            // The closed form's certificate for a checked filter over this tile (MacFilter::checked).
            const auto certified = [&](const MacFilter& mf, std::int64_t f) {
                if (mf.monotone) {
                    for (std::int64_t r = 0; r < nr; ++r)
                        if (acc[static_cast<std::size_t>(r)] > mf.hi) return false;
                    return true;
                }
                if (!abs_ready) {
                    abs_a.resize(static_cast<std::size_t>(g.K * nr));
                    for (std::int64_t i = 0; i < g.K * nr; ++i)
                        abs_a[static_cast<std::size_t>(i)] = static_cast<std::int16_t>(std::abs(code_value(cols[static_cast<std::size_t>(i)], part.is_signed)));
                    abs_ready = true;
                }
                bound.assign(static_cast<std::size_t>(nr), 0);
                abs_dot(abs_a.data(), part.abs_w.data() + f * g.K, g.K, nr, bound.data());
                const std::int64_t limit = std::min(mf.hi, -mf.lo) - mf.slack;
                for (std::int64_t r = 0; r < nr; ++r)
                    if (bound[static_cast<std::size_t>(r)] > limit) return false;
                return true;
            };
            for (std::int64_t fi = task.f0; fi < task.f1;) {
                const MacFilter& mf = part.filters[static_cast<std::size_t>(fl[static_cast<std::size_t>(fi)])];
                if (mf.closed) {
                    const std::int64_t f = fl[static_cast<std::size_t>(fi)];
                    acc.resize(static_cast<std::size_t>(nr));
                    closed_sum(mf, part.packed.data() + f * g.K, cols.data(), nr, g.K, vals, acc.data());
                    if (mf.checked && !certified(mf, f)) emulate(fi, 1);
                    if (part.with_asum) fill_asum(g.K, cols.data(), nr, asum.data());
                    write_out(f, acc.data());
                    ++fi;
                    continue;
                }
                const std::int64_t S = std::min<std::int64_t>(mf.tree, g.K);
                std::int64_t nb = 1;
                while (fi + nb < task.f1 && (nb + 1) * nr <= kBatch && S * (nb + 1) * nr <= kBuffer &&
                       same_accumulation(part.filters[static_cast<std::size_t>(fl[static_cast<std::size_t>(fi + nb)])], mf))
                    ++nb;
                emulate(fi, nb);
                if (part.with_asum) fill_asum(g.K, cols.data(), nr, asum.data());
                for (std::int64_t b = 0; b < nb; ++b) write_out(fl[static_cast<std::size_t>(fi + b)], acc.data() + b * nr);
                fi += nb;
            }
        }
    });
}

std::string describe_mac(const MacPart& part) {
    std::map<std::string, std::int64_t> count;
    for (const auto& mf : part.filters)
        ++count[mf.adder ? "adder " + mf.adder_name + " " + AccumulationOrder{mf.tree}.str() + (mf.closed ? (mf.checked ? " closed form (checked per tile)" : " closed form") : " emulated")
                         : "exact sums"];
    std::ostringstream os;
    os << "mac (products through their adders; closed form: one packed lookup per product, emulated: one add_n per step):";
    for (const auto& [what, n] : count) os << " " << what << " (" << n << " filters);";
    return os.str();
}

std::int64_t mac_sum(const MacFilter& mf, const std::vector<std::int64_t>& products, const std::string& label,
                     std::int64_t f) {
    // One scalar addition at a time, written for clarity rather than through tree_sum.
    const auto add1 = [&](std::int64_t a, std::int64_t b) {
        if (!mf.adder) return a + b;
        std::int64_t r = 0;
        mf.adder->add_n(&a, &b, &r, 1);
        if (r < mf.lo || r > mf.hi) overflow(mf, label, f, f, r);
        return r;
    };
    std::int64_t acc = 0;
    const std::size_t S = static_cast<std::size_t>(mf.tree);
    for (std::size_t k0 = 0; k0 < products.size(); k0 += S) {
        std::vector<std::int64_t> level(products.begin() + static_cast<std::ptrdiff_t>(k0),
                                        products.begin() + static_cast<std::ptrdiff_t>(std::min(products.size(), k0 + S)));
        while (level.size() > 1) {
            std::vector<std::int64_t> next;
            for (std::size_t i = 0; i + 1 < level.size(); i += 2) next.push_back(add1(level[i], level[i + 1]));
            if (level.size() % 2) next.push_back(level.back());
            level = std::move(next);
        }
        acc = add1(acc, level[0]);
    }
    return acc;
}

}  // namespace hawx::engine::detail
