#include "hawx/engine/layer_kernel.hpp"

#include "gather_vbmi.hpp"
#include "geometry.hpp"
#include "int8_conv.hpp"
#include "mac_kernel.hpp"

#include <ATen/Parallel.h>
#include <ATen/native/ConvUtils.h>
#include <hawx/sdk/error.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <type_traits>

#include <tbb/parallel_for.h>

namespace hawx::engine {

using detail::Geometry;
using detail::geometry_of;
using detail::im2col_tile;
using detail::layer_label;

namespace {

// Float32 represents every integer of magnitude <= 2^24 exactly. Let a reduction's products
// (integers) have positive part P (sum of the positive ones) and negative part N (sum of the
// magnitudes of the negative ones). Every partial sum the library forms, in any order, is the
// sum of a subset of the products (by induction: as long as every earlier partial sum was
// exact, the next one is a subset sum), so it lies in [-N, P]. If max(P, N) <= 2^24 - 1, every
// partial sum and every product is an integer within float32's exact range, so no addition or
// fused multiply-add rounds: the float32 result is the exact integer whatever blocking,
// vectorisation or thread split the GEMM/conv library uses. (Winograd/FFT algorithms
// transform operands with fractions and break this; conv() below refuses them.) The
// separable path bounds P and N per filter for the actual weights, each product u_t(a) v by
// the range of u_t over the codes the quantizer can produce, and splits reductions into
// chunks that each satisfy the bound.
constexpr double kExactLimit = 16777215.0;  // 2^24 - 1

// Block index of multiplication (f, k) under an assignment.
inline int block_at(const LayerAssignment& a, std::int64_t f, std::int64_t k, std::int64_t K) {
    switch (a.granularity) {
        case Granularity::Layer: return a.units[0];
        case Granularity::Filter: return a.units[static_cast<std::size_t>(f)];
        case Granularity::Operation: return a.units[static_cast<std::size_t>(f * K + k)];
    }
    return 0;
}

std::int32_t value_of(std::uint32_t code, bool is_signed) { return code_to_value(code, 8, is_signed); }

// ---------------------------------------------------------------------------------------
// Gather path

struct GatherEntry {
    std::int32_t k;   // weight position (row of the im2col tile)
    const void* col;  // 256-entry column of the block's table for this weight code
};

struct GatherPart {
    TableType type = TableType::Int32;
    std::vector<std::vector<std::int64_t>> group_filters;  // per conv group, filters with entries
    std::vector<std::int64_t> entry_begin;                  // per filter, into entries (size F+1)
    std::vector<GatherEntry> entries;
    std::vector<std::int32_t> zw;   // per filter (unsigned zero-point correction)
    std::vector<std::int64_t> cst;  // per filter constant of the zero-point correction
    bool with_asum = false;
    std::vector<std::vector<std::int32_t>> widened;  // int32 copies when blocks' types differ
    std::int64_t positions = 0;
    // The vector lookups (16-bit tables): each entry's row and its column's byte split.
    bool vector = false;
    std::vector<std::int32_t> rows;
    std::vector<std::int64_t> split_offset;
    std::vector<std::uint8_t> split;
};

template <class TT>
void gather_tile(const std::uint8_t* cols, std::int64_t R, const GatherEntry* e, const GatherEntry* end,
                 std::int32_t* acc) {
    std::fill(acc, acc + R, 0);
    // Four weight positions per pass over the accumulators: the columns (512 B each for
    // 16-bit tables) stay in L1, the tile rows stream, and acc is loaded/stored once per 4.
    for (; end - e >= 4; e += 4) {
        const TT* c0 = static_cast<const TT*>(e[0].col);
        const TT* c1 = static_cast<const TT*>(e[1].col);
        const TT* c2 = static_cast<const TT*>(e[2].col);
        const TT* c3 = static_cast<const TT*>(e[3].col);
        const std::uint8_t* x0 = cols + e[0].k * R;
        const std::uint8_t* x1 = cols + e[1].k * R;
        const std::uint8_t* x2 = cols + e[2].k * R;
        const std::uint8_t* x3 = cols + e[3].k * R;
        for (std::int64_t r = 0; r < R; ++r)
            acc[r] += static_cast<std::int32_t>(c0[x0[r]]) + static_cast<std::int32_t>(c1[x1[r]]) +
                      static_cast<std::int32_t>(c2[x2[r]]) + static_cast<std::int32_t>(c3[x3[r]]);
    }
    for (; e < end; ++e) {
        const TT* c = static_cast<const TT*>(e->col);
        const std::uint8_t* x = cols + e->k * R;
        for (std::int64_t r = 0; r < R; ++r) acc[r] += static_cast<std::int32_t>(c[x[r]]);
    }
}

template <class TT>
void run_gather(const Geometry& g, const GatherPart& part, const at::Tensor& codes, std::uint8_t zero_code,
                std::int64_t N, std::int64_t H, std::int64_t W, std::int64_t OH, std::int64_t OW, std::int32_t* out) {
    const std::int64_t P = g.linear ? 1 : OH * OW;
    const std::int64_t rows = N * P;
    // Tile rows so the im2col tile (K x R bytes) stays within ~64 KiB (L2-resident); the
    // vector lookups want whole 128-row blocks and take up to 256 KiB.
    const std::int64_t R = part.vector ? std::clamp<std::int64_t>(262144 / std::max<std::int64_t>(g.K, 1) / 128 * 128, 128, 512)
                                       : std::clamp<std::int64_t>(65536 / std::max<std::int64_t>(g.K, 1), 16, 512);
    const std::int64_t tiles = (rows + R - 1) / R;
    const std::uint8_t* src = codes.data_ptr<std::uint8_t>();
    const int threads = std::max(1, at::get_num_threads());
    const std::vector<detail::TileTask> tasks = detail::tile_tasks(g, part.group_filters, tiles, threads);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, tasks.size(), 1), [&](const tbb::blocked_range<std::size_t>& tr) {
        std::vector<std::uint8_t> cols(static_cast<std::size_t>(g.K * R));
        std::vector<std::int32_t> acc(static_cast<std::size_t>(R)), asum(static_cast<std::size_t>(R));
        for (std::size_t ti = tr.begin(); ti < tr.end(); ++ti) {
            const detail::TileTask& task = tasks[ti];
            const std::int64_t r0 = task.tile * R, nr = std::min(R, rows - r0);
            im2col_tile(g, src, H, W, OH, OW, task.group, r0, nr, zero_code, cols.data());
            const auto& fl = part.group_filters[static_cast<std::size_t>(task.group)];
            for (std::int64_t fi = task.f0; fi < task.f1; ++fi) {
                const std::int64_t f = fl[static_cast<std::size_t>(fi)];
                const GatherEntry* e0 = part.entries.data() + part.entry_begin[static_cast<std::size_t>(f)];
                const GatherEntry* e1 = part.entries.data() + part.entry_begin[static_cast<std::size_t>(f) + 1];
                if (part.vector) {
                    const std::int64_t b = part.entry_begin[static_cast<std::size_t>(f)];
                    detail::lookup_sum(cols.data(), nr, part.rows.data() + b, part.split_offset.data() + b, e1 - e0,
                                       part.split.data(), std::is_signed_v<TT>, acc.data());
                } else {
                    gather_tile<TT>(cols.data(), nr, e0, e1, acc.data());
                }
                const std::int32_t zw = part.zw[static_cast<std::size_t>(f)];
                const std::int64_t cst = part.cst[static_cast<std::size_t>(f)];
                if (part.with_asum && zw != 0) {
                    std::fill(asum.begin(), asum.begin() + nr, 0);
                    for (const GatherEntry* e = e0; e < e1; ++e) {
                        const std::uint8_t* x = cols.data() + e->k * nr;
                        for (std::int64_t r = 0; r < nr; ++r) asum[static_cast<std::size_t>(r)] += x[r];
                    }
                    for (std::int64_t r = 0; r < nr; ++r) acc[static_cast<std::size_t>(r)] -= zw * asum[static_cast<std::size_t>(r)];
                }
                for (std::int64_t r = 0; r < nr; ++r) {
                    const std::int64_t row = r0 + r, n = row / P, p = row % P;
                    out[(n * g.F + f) * P + p] = acc[static_cast<std::size_t>(r)] + static_cast<std::int32_t>(cst);
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------------------
// Separable path

struct Term {
    enum Kind { Exact, ACode, Block } kind = Exact;  // (a-za)(w-zw); a * (-zw) for table forms; a block's term
    const CompiledBlock* block = nullptr;
    const SeparableForm* form = nullptr;
    int r = 0;
    std::vector<float> lut;  // 256 entries: u(code)
    double umin = 0, umax = 0;  // range of u over the codes the activations can hold
    // u(zero code), subtracted from the table so that a padded position contributes 0 and
    // the convolution can pad with zeros itself; shift * sum_k v(w_fk) is added back as a
    // per-filter constant (every position, padded or not, holds a code).
    double shift = 0;
};

struct SepGroup {
    std::vector<std::int64_t> filters;
    bool all_filters = false;
    std::vector<std::size_t> terms;  // indices into Impl::terms
    std::vector<std::pair<std::int64_t, std::int64_t>> chunks;  // stacked-channel [begin, end)
    std::vector<at::Tensor> chunk_weights;  // weight.narrow(1, begin, len), contiguous
    std::vector<std::int32_t> chunk_of;     // stacked channel -> its chunk
    std::vector<std::int64_t> cst;   // per filter of the group: constant zero-point terms
    bool any_cst = false;
    std::string label;
    // The integer kernel for this group (constants included), when its values fit.
    std::shared_ptr<detail::Int8Conv> int8;
};

}  // namespace

struct LayerKernel::Impl {
    LayerDesc layer;
    Geometry g;
    bool is_signed = true;
    std::int32_t za = 0;
    std::uint8_t zero_code = 0;
    std::vector<Term> terms;
    std::vector<SepGroup> groups;
    GatherPart gather;
    bool has_gather = false;
    std::array<std::int32_t, 2> act_range{-128, 255};
    bool double_out = false;
    std::optional<detail::MacPart> mac;  // set: the whole layer through its MAC adders
    std::vector<std::string> notes;

    // Writes the stacked transformed input of a filter group; `code(i)` gives the activation
    // code of flat input element i (from codes, or quantized on the fly from floats).
    template <class CodeOf>
    std::vector<at::Tensor> expand(const CodeOf& code, std::int64_t N, std::int64_t H, std::int64_t W,
                                   const at::TensorOptions& opt, const SepGroup& grp) const;
    at::Tensor run(const at::Tensor* codes, const at::Tensor* x, const ActQuant* q) const;
    at::Tensor conv(const at::Tensor& x, const at::Tensor& w) const;
};

namespace {

bool conv_backend_exact(const at::Tensor& x, const at::Tensor& w, const Geometry& g) {
    using at::native::ConvBackend;
    const auto b = at::native::select_conv_backend(x, w, c10::nullopt, {g.sh, g.sw}, {g.ph, g.pw}, {g.dh, g.dw}, false,
                                                   {0, 0}, g.G);
    return b == ConvBackend::Mkldnn || b == ConvBackend::Slow2d || b == ConvBackend::SlowDilated2d ||
           b == ConvBackend::Empty || b == ConvBackend::MkldnnEmpty;
}

}  // namespace

// Each chunk of stacked channels gets its own contiguous tensor, so that every chunk's conv
// reads its input without a copy.
template <class CodeOf>
std::vector<at::Tensor> LayerKernel::Impl::expand(const CodeOf& code, std::int64_t N, std::int64_t H, std::int64_t W,
                                                  const at::TensorOptions& opt, const SepGroup& grp) const {
    const std::int64_t T = static_cast<std::int64_t>(grp.terms.size());
    std::vector<at::Tensor> out;
    std::vector<float*> dst;
    const std::int64_t Hp = g.linear ? 1 : H, Wp = g.linear ? 1 : W;  // the conv pads (with zeros)
    for (const auto& [c0, c1] : grp.chunks) {
        const std::int64_t ch = g.G > 1 ? g.G * T * g.Cg : c1 - c0;  // grouped convs have one chunk
        out.push_back(g.linear ? at::empty({N, ch}, opt.dtype(at::kFloat)) : at::empty({N, ch, Hp, Wp}, opt.dtype(at::kFloat)));
        dst.push_back(out.back().data_ptr<float>());
    }
    // Plane of stacked channel s (in conv group grpi) of image n.
    const auto plane_of = [&](std::int64_t n, std::int64_t grpi, std::int64_t s) {
        const std::size_t j = static_cast<std::size_t>(grp.chunk_of[static_cast<std::size_t>(s)]);
        const std::int64_t ch = out[j].size(1);
        const std::int64_t c = (g.G > 1 ? grpi * T * g.Cg : 0) + s - grp.chunks[j].first;
        return dst[j] + (n * ch + c) * Hp * Wp;
    };
    if (g.linear) {
        // Where stacked column s of row n goes: base[s] + n * width[s] (looked up once here;
        // asking the tensors per element cost more than the transform itself).
        const std::int64_t S = T * g.K;
        std::vector<float*> base(static_cast<std::size_t>(S));
        std::vector<std::int64_t> width(static_cast<std::size_t>(S));
        for (std::int64_t s = 0; s < S; ++s) {
            const std::size_t j = static_cast<std::size_t>(grp.chunk_of[static_cast<std::size_t>(s)]);
            width[static_cast<std::size_t>(s)] = out[j].size(1);
            base[static_cast<std::size_t>(s)] = dst[j] + (s - grp.chunks[j].first);
        }
        std::vector<const float*> luts(static_cast<std::size_t>(T));
        for (std::int64_t t = 0; t < T; ++t) luts[static_cast<std::size_t>(t)] = terms[grp.terms[static_cast<std::size_t>(t)]].lut.data();
        tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, N), [&](const tbb::blocked_range<std::int64_t>& r) {
            std::vector<std::uint8_t> row(static_cast<std::size_t>(g.K));
            for (std::int64_t n = r.begin(); n < r.end(); ++n) {
                for (std::int64_t k = 0; k < g.K; ++k) row[static_cast<std::size_t>(k)] = code(n * g.K + k);
                if (out.size() == 1) {  // one chunk: the row is contiguous, term-major
                    float* o = dst[0] + n * S;
                    for (std::int64_t t = 0; t < T; ++t) {
                        const float* lut = luts[static_cast<std::size_t>(t)];
                        for (std::int64_t k = 0; k < g.K; ++k) o[t * g.K + k] = lut[row[static_cast<std::size_t>(k)]];
                    }
                    continue;
                }
                for (std::int64_t t = 0; t < T; ++t) {
                    const float* lut = luts[static_cast<std::size_t>(t)];
                    for (std::int64_t k = 0; k < g.K; ++k) {
                        const auto s = static_cast<std::size_t>(t * g.K + k);
                        base[s][n * width[s]] = lut[row[static_cast<std::size_t>(k)]];
                    }
                }
            }
        });
        return out;
    }
    // Channel layout per conv group: (term, channel-in-group), so grouped convs keep working.
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, N * g.C), [&](const tbb::blocked_range<std::int64_t>& r) {
        std::vector<std::uint8_t> plane(static_cast<std::size_t>(H * W));
        for (std::int64_t nc = r.begin(); nc < r.end(); ++nc) {
            const std::int64_t n = nc / g.C, c = nc % g.C, grpi = c / g.Cg, cg = c % g.Cg;
            for (std::int64_t i = 0; i < H * W; ++i) plane[static_cast<std::size_t>(i)] = code(nc * H * W + i);
            for (std::int64_t t = 0; t < T; ++t) {
                const float* lut = terms[grp.terms[static_cast<std::size_t>(t)]].lut.data();
                float* o = plane_of(n, grpi, t * g.Cg + cg);
                for (std::int64_t i = 0; i < H * W; ++i) o[i] = lut[plane[static_cast<std::size_t>(i)]];
            }
        }
    });
    return out;
}

at::Tensor LayerKernel::Impl::conv(const at::Tensor& xs, const at::Tensor& ws) const {
    if (g.linear) return at::mm(xs, ws.t());
    if (xs.device().is_cpu() && conv_backend_exact(xs, ws, g))
        return at::conv2d(xs, ws, at::Tensor(), at::IntArrayRef{g.sh, g.sw}, at::IntArrayRef{g.ph, g.pw},
                          at::IntArrayRef{g.dh, g.dw}, g.G);
    // Elsewhere (GPU: cuDNN may pick Winograd/FFT) use im2col + matmul, exact under the bound.
    const std::int64_t N = xs.size(0), Cx = xs.size(1), Hp = xs.size(2) + 2 * g.ph, Wp = xs.size(3) + 2 * g.pw;
    const std::int64_t OH = (Hp - g.dh * (g.kh - 1) - 1) / g.sh + 1, OW = (Wp - g.dw * (g.kw - 1) - 1) / g.sw + 1;
    at::Tensor cols = at::im2col(xs, {g.kh, g.kw}, {g.dh, g.dw}, {g.ph, g.pw}, {g.sh, g.sw});  // [N, Cx*kh*kw, L]
    cols = cols.view({N, g.G, Cx / g.G * g.kh * g.kw, OH * OW});
    at::Tensor wm = ws.reshape({g.G, ws.size(0) / g.G, -1});
    return at::matmul(wm.unsqueeze(0), cols).view({N, ws.size(0), OH, OW});
}

LayerKernel::LayerKernel(const LayerDesc& layer, const WeightQuant& wq, std::int32_t act_zero,
                         const BlockLibrary& library, const LayerAssignment& assignment, KernelPath path,
                         std::array<std::int32_t, 2> act_range, int auto_tree)
    : impl_(std::make_unique<Impl>()) {
    validate_assignment(layer, library, assignment);
    Impl& m = *impl_;
    m.layer = layer;
    m.g = geometry_of(layer);
    const Geometry& g = m.g;
    m.is_signed = wq.is_signed;
    m.za = wq.is_signed ? 0 : act_zero;
    m.zero_code = static_cast<std::uint8_t>(m.za & 0xFF);
    if (wq.codes.numel() != g.F * g.K)
        throw Error(layer_label(layer) + ": weight codes have " + std::to_string(wq.codes.numel()) +
                    " elements, expected " + std::to_string(g.F * g.K));
    const at::Tensor wc = wq.codes.contiguous();
    const std::uint8_t* w = wc.data_ptr<std::uint8_t>();
    m.act_range = act_range;
    if (detail::mac_needed(g, wq, library, assignment, auto_tree)) {
        for (int b : assignment.units)
            if (library[static_cast<std::size_t>(b)]->is_signed != wq.is_signed)
                throw Error(layer_label(layer) + ": block '" + library[static_cast<std::size_t>(b)]->name +
                            "' does not match the layer's quantization signedness");
        m.mac = detail::build_mac(g, layer, wq, m.za, library, assignment, auto_tree);
        m.double_out = true;
        return;
    }

    // Which blocks are used, and by which path.
    std::set<int> used;
    for (std::int64_t f = 0; f < g.F; ++f)
        if (assignment.granularity == Granularity::Operation)
            for (std::int64_t k = 0; k < g.K; ++k) used.insert(block_at(assignment, f, k, g.K));
        else
            used.insert(block_at(assignment, f, 0, g.K));
    std::map<int, bool> separable;  // block -> uses the separable path
    std::map<int, const SeparableForm*> form;  // its form: of the table, or of the error
    for (int b : used) {
        const CompiledBlock& blk = *library[static_cast<std::size_t>(b)];
        if (blk.is_signed != wq.is_signed)
            throw Error(layer_label(layer) + ": block '" + blk.name + "' is " + (blk.is_signed ? "signed" : "unsigned") +
                        " but the layer is quantized " + (wq.is_signed ? "signed" : "unsigned"));
        bool sep = false;
        switch (path) {
            case KernelPath::Auto: {
                sep = blk.separable.has_value() || blk.table_form.has_value();
                if (sep) {
                    // Both paths are exact; take the cheaper. Per output position and image:
                    // the gather path does F*K table lookups (~0.2 ns each on 2 cores), the
                    // separable path expands T terms of ~C*s^2 input values (~0.3 ns each) and
                    // multiplies T*K*F (~0.02 ns per multiply-add in LibTorch's GEMM/conv):
                    // measured on ResNet-18 (engine_model_bench --layer_times: Mitchell gather
                    // 7.3 s for 35.6 G lookups, T2's 3 terms 1.7 s). Gather wins only for many
                    // terms over few filters (a 10-class classifier under a rank-7 block).
                    const SeparableForm& f = blk.table_form ? *blk.table_form : *blk.separable;
                    const double T = f.rank + 1.0, F = static_cast<double>(g.F), K = static_cast<double>(g.K);
                    const double C = static_cast<double>(g.linear ? g.K : g.C * g.sh * g.sw);
                    const double gather_ns = 0.2 * F * K, separable_ns = T * (0.3 * C + 0.02 * K * F);
                    if (gather_ns < separable_ns) sep = false;
                }
                break;
            }
            case KernelPath::Separable:
                if (!blk.separable && !blk.table_form)
                    throw Error("block '" + blk.name + "': no exact low-rank separable form; use the gather path");
                sep = true;
                break;
            case KernelPath::Gather:
            case KernelPath::Reference: sep = false; break;
        }
        separable[b] = sep;
        form[b] = !sep ? nullptr : blk.table_form ? &*blk.table_form : &*blk.separable;
    }
    const auto is_table_form = [&](int b) { return form[b] && form[b] == (library[static_cast<std::size_t>(b)]->table_form ? &*library[static_cast<std::size_t>(b)]->table_form : nullptr); };

    // Codes the activations can hold: the quantizer's range, plus the zero point (padding).
    std::vector<bool> allowed(256);
    for (std::uint32_t c = 0; c < 256; ++c) {
        const std::int32_t v = value_of(c, m.is_signed);
        allowed[c] = (v >= act_range[0] && v <= act_range[1]) || c == m.zero_code;
    }
    const auto set_range = [&](Term& t) {
        t.shift = t.lut[m.zero_code];
        for (float& v : t.lut) v -= static_cast<float>(t.shift);  // integers below 2^24: exact
        t.umin = INFINITY, t.umax = -INFINITY;
        for (std::uint32_t c = 0; c < 256; ++c)
            if (allowed[c]) t.umin = std::min<double>(t.umin, t.lut[c]), t.umax = std::max<double>(t.umax, t.lut[c]);
    };

    // Terms: the exact product (index 0) and each separable block's rank-1 corrections.
    std::map<int, std::size_t> first_term;  // block -> index of its first correction term
    {
        Term t0;
        t0.lut.resize(256);
        for (std::uint32_t c = 0; c < 256; ++c) {
            t0.lut[c] = static_cast<float>(value_of(c, m.is_signed) - m.za);
        }
        set_range(t0);
        m.terms.push_back(std::move(t0));
        Term t1;  // index 1: the activation code itself, for -z_w * a at table-form positions
        t1.kind = Term::ACode;
        t1.lut.resize(256);
        for (std::uint32_t c = 0; c < 256; ++c) {
            t1.lut[c] = static_cast<float>(value_of(c, m.is_signed));
        }
        set_range(t1);
        m.terms.push_back(std::move(t1));
        for (auto [b, sep] : separable) {
            if (!sep) continue;
            const CompiledBlock& blk = *library[static_cast<std::size_t>(b)];
            first_term[b] = m.terms.size();
            for (int r = 0; r < form[b]->rank; ++r) {
                Term t;
                t.kind = Term::Block;
                t.block = &blk;
                t.form = form[b];
                t.r = r;
                t.lut.resize(256);
                for (std::uint32_t c = 0; c < 256; ++c) {
                    const std::int64_t u = form[b]->u[static_cast<std::size_t>(r) * 256 + c];
                    t.lut[c] = static_cast<float>(u);
                }
                set_range(t);
                m.terms.push_back(std::move(t));
            }
        }
    }

    // The same per block as flat arrays: the loops over every weight below look them up
    // once per weight, where map lookups cost more than the rest of the work.
    std::vector<char> sep_of(library.size(), 0), tf_of(library.size(), 0);
    for (auto [b, sep] : separable) {
        sep_of[static_cast<std::size_t>(b)] = sep;
        tf_of[static_cast<std::size_t>(b)] = sep && is_table_form(b);
    }

    // Filter groups for the separable path: filters that use the same set of separable
    // blocks share one conv (grouped convs keep all filters together).
    std::map<std::vector<int>, std::vector<std::int64_t>> by_set;
    std::vector<std::int64_t> gather_count(static_cast<std::size_t>(g.F), 0);
    for (std::int64_t f = 0; f < g.F; ++f) {
        std::set<int> s;
        for (std::int64_t k = 0; k < g.K; ++k) {
            const int b = block_at(assignment, f, k, g.K);
            if (sep_of[static_cast<std::size_t>(b)]) s.insert(b);
            else ++gather_count[static_cast<std::size_t>(f)];
            if (assignment.granularity != Granularity::Operation && k == 0) {
                if (!sep_of[static_cast<std::size_t>(b)]) gather_count[static_cast<std::size_t>(f)] = g.K;
                break;
            }
        }
        if (!s.empty()) by_set[std::vector<int>(s.begin(), s.end())].push_back(f);
    }
    if (g.G > 1 && by_set.size() > 1) {  // merge: one group with the union of terms
        std::set<int> all;
        std::vector<std::int64_t> fl;
        for (auto& [s, f] : by_set) all.insert(s.begin(), s.end()), fl.insert(fl.end(), f.begin(), f.end());
        std::sort(fl.begin(), fl.end());
        by_set.clear();
        by_set[std::vector<int>(all.begin(), all.end())] = fl;
    }
    if (g.G > 1 && !by_set.empty() && static_cast<std::int64_t>(by_set.begin()->second.size()) != g.F) {
        // A grouped conv needs every filter; filters without separable positions get zero terms.
        std::vector<std::int64_t> fl(static_cast<std::size_t>(g.F));
        for (std::int64_t f = 0; f < g.F; ++f) fl[static_cast<std::size_t>(f)] = f;
        auto s = by_set.begin()->first;
        by_set.clear();
        by_set[s] = fl;
    }

    bool fallback_to_gather = false;
    std::vector<double> sep_bound(static_cast<std::size_t>(g.F), 0.0);
    for (auto& [bset, filters] : by_set) {
        SepGroup grp;
        grp.filters = filters;
        grp.all_filters = static_cast<std::int64_t>(filters.size()) == g.F;
        bool need_exact = false, need_acode = false;
        for (int b : bset) {
            if (is_table_form(b)) need_acode = need_acode || !m.is_signed;
            else need_exact = true;
        }
        if (need_exact) grp.terms.push_back(0);
        if (need_acode) grp.terms.push_back(1);
        for (int b : bset)
            for (int r = 0; r < form[b]->rank; ++r) grp.terms.push_back(first_term[b] + static_cast<std::size_t>(r));
        const std::int64_t T = static_cast<std::int64_t>(grp.terms.size());
        const std::int64_t nf = static_cast<std::int64_t>(filters.size());
        const std::int64_t S = T * g.Cg, khw = g.kh * g.kw;
        // The stacked weights as integers (they are: integer combinations of codes); the float
        // path converts them only when the integer kernel does not run.
        const bool per_operation = assignment.granularity == Granularity::Operation;
        const std::vector<std::int64_t> wt_shape =
            g.linear ? std::vector<std::int64_t>{nf, S} : std::vector<std::int64_t>{nf, S, g.kh, g.kw};
        at::Tensor wt = per_operation ? at::zeros(wt_shape, at::kInt) : at::empty(wt_shape, at::kInt);
        std::int32_t* wp = wt.data_ptr<std::int32_t>();
        // Per filter and stacked channel, the most its products can add (pos) and subtract
        // (neg): every partial sum of a reduction lies in [-sum neg, sum pos], which is the
        // bound that matters, tighter than the sum of magnitudes when signs are known (after
        // a ReLU the exact term's sign is the weight's).
        std::vector<double> pos(static_cast<std::size_t>(nf * S), 0.0), neg(static_cast<std::size_t>(nf * S), 0.0);
        grp.cst.assign(static_cast<std::size_t>(nf), 0);
        // One block per filter (layer and filter granularity): each term's weight value,
        // bound contributions and sum are tables over the 256 weight codes, made once per
        // (block, zero point) and read along the filter's row. (Kernels are rebuilt at every
        // fine-tuning step, so this loop is on the training path.)
        struct TermTable {
            std::array<std::int32_t, 256> v;
            std::array<double, 256> pos, neg;
        };
        // Filters write only their own rows: blocks of them run in parallel, each with its own
        // table cache.
        // A weight value beyond float32's exact integers (a wide separable factor) sends the
        // layer to the gather path, as the exactness bound would.
        std::atomic<bool> too_wide{false};
        const auto fits = [&](double v) {
            if (std::fabs(v) <= kExactLimit) return true;
            too_wide = true;
            return false;
        };
        const auto fill_filters = [&](std::int64_t f_begin, std::int64_t f_end) {
        std::vector<TermTable> tables(static_cast<std::size_t>(T));
        int table_block = -1;
        std::int32_t table_zw = 0;
        for (std::int64_t fi = f_begin; fi < f_end; ++fi) {
            const std::int64_t f = filters[static_cast<std::size_t>(fi)];
            const std::int32_t zw = wq.zero[static_cast<std::size_t>(f)];
            const int b = block_at(assignment, f, 0, g.K);
            if (!sep_of[static_cast<std::size_t>(b)]) {
                std::fill(wp + fi * S * khw, wp + (fi + 1) * S * khw, 0);
                continue;
            }
            const bool tf = tf_of[static_cast<std::size_t>(b)];
            const std::uint8_t* row = w + f * g.K;
            if (tf && !m.is_signed)
                for (std::int64_t k = 0; k < g.K; ++k)
                    grp.cst[static_cast<std::size_t>(fi)] += -static_cast<std::int64_t>(m.za) * row[k] + static_cast<std::int64_t>(m.za) * zw;
            if (b != table_block || zw != table_zw) {
                for (std::int64_t t = 0; t < T; ++t) {
                    const Term& term = m.terms[grp.terms[static_cast<std::size_t>(t)]];
                    TermTable& tt = tables[static_cast<std::size_t>(t)];
                    for (std::uint32_t code = 0; code < 256; ++code) {
                        double v = 0;
                        if (term.kind == Term::Exact) v = tf ? 0 : value_of(code, m.is_signed) - (m.is_signed ? 0 : zw);
                        else if (term.kind == Term::ACode) v = tf ? -static_cast<double>(zw) : 0;
                        else if (term.block == library[static_cast<std::size_t>(b)].get())
                            v = static_cast<double>(term.form->v[static_cast<std::size_t>(term.r) * 256 + code]);
                        const double p1 = term.umin * v, p2 = term.umax * v;
                        tt.v[code] = fits(v) ? static_cast<std::int32_t>(v) : 0;
                        tt.pos[code] = std::max(0.0, std::max(p1, p2));
                        tt.neg[code] = std::max(0.0, -std::min(p1, p2));
                    }
                }
                table_block = b, table_zw = zw;
            }
            for (std::int64_t t = 0; t < T; ++t) {
                const Term& term = m.terms[grp.terms[static_cast<std::size_t>(t)]];
                const TermTable& tt = tables[static_cast<std::size_t>(t)];
                std::int32_t* out = wp + (fi * S + t * g.Cg) * khw;  // (c, ij) in k order
                std::int64_t sum = 0;
                for (std::int64_t c = 0; c < g.Cg; ++c) {
                    double ps = 0, ns = 0;
                    for (std::int64_t ij = 0; ij < khw; ++ij) {
                        const std::uint8_t code = row[c * khw + ij];
                        out[c * khw + ij] = tt.v[code];
                        sum += tt.v[code];
                        ps += tt.pos[code], ns += tt.neg[code];
                    }
                    pos[static_cast<std::size_t>(fi * S + t * g.Cg + c)] += ps;
                    neg[static_cast<std::size_t>(fi * S + t * g.Cg + c)] += ns;
                }
                grp.cst[static_cast<std::size_t>(fi)] += static_cast<std::int64_t>(term.shift) * sum;
            }
        }
        };
        if (!per_operation)
            tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, nf, 8),
                              [&](const tbb::blocked_range<std::int64_t>& r) { fill_filters(r.begin(), r.end()); });
        for (std::int64_t fi = 0; fi < nf && per_operation; ++fi) {
            const std::int64_t f = filters[static_cast<std::size_t>(fi)];
            const std::int32_t zw = wq.zero[static_cast<std::size_t>(f)];
            for (std::int64_t k = 0; k < g.K; ++k) {
                const int b = block_at(assignment, f, k, g.K);
                if (!sep_of[static_cast<std::size_t>(b)]) continue;
                const std::uint32_t code = w[f * g.K + k];
                const std::int64_t c = k / khw, ij = k % khw;
                const bool tf = tf_of[static_cast<std::size_t>(b)];
                // Table forms give T itself; the zero-point terms -z_a w + z_a z_w are a constant.
                if (tf && !m.is_signed) grp.cst[static_cast<std::size_t>(fi)] += -static_cast<std::int64_t>(m.za) * code + static_cast<std::int64_t>(m.za) * zw;
                for (std::int64_t t = 0; t < T; ++t) {
                    const Term& term = m.terms[grp.terms[static_cast<std::size_t>(t)]];
                    double v = 0;
                    if (term.kind == Term::Exact) v = tf ? 0 : value_of(code, m.is_signed) - (m.is_signed ? 0 : zw);
                    else if (term.kind == Term::ACode) v = tf ? -static_cast<double>(zw) : 0;
                    else if (term.block == library[static_cast<std::size_t>(b)].get())
                        v = static_cast<double>(term.form->v[static_cast<std::size_t>(term.r) * 256 + code]);
                    if (v == 0 || !fits(v)) continue;
                    wp[(fi * S + t * g.Cg + c) * khw + ij] = static_cast<std::int32_t>(v);
                    grp.cst[static_cast<std::size_t>(fi)] += static_cast<std::int64_t>(term.shift) * static_cast<std::int64_t>(v);
                    const double p1 = term.umin * v, p2 = term.umax * v;
                    pos[static_cast<std::size_t>(fi * S + t * g.Cg + c)] += std::max(0.0, std::max(p1, p2));
                    neg[static_cast<std::size_t>(fi * S + t * g.Cg + c)] += std::max(0.0, -std::min(p1, p2));
                }
            }
        }
        if (too_wide) {
            fallback_to_gather = true;
            break;
        }
        // Greedy chunks of stacked channels, each within the exactness bound for every filter.
        std::vector<double> run_pos(static_cast<std::size_t>(nf), 0.0), run_neg(static_cast<std::size_t>(nf), 0.0);
        std::vector<double> all_pos(static_cast<std::size_t>(nf), 0.0), all_neg(static_cast<std::size_t>(nf), 0.0);
        // Partial sums only grow (pos, neg >= 0): when every filter's totals are within the
        // bound, the greedy scan would find one chunk, and the scan (strided over filters) is
        // skipped.
        bool one_chunk = true;
        for (std::int64_t fi = 0; fi < nf; ++fi) {
            const double* pp = pos.data() + fi * S;
            const double* np = neg.data() + fi * S;
            double ps = 0, ns = 0;
            for (std::int64_t s = 0; s < S; ++s) ps += pp[s], ns += np[s];
            all_pos[static_cast<std::size_t>(fi)] = ps, all_neg[static_cast<std::size_t>(fi)] = ns;
            one_chunk = one_chunk && std::max(ps, ns) <= kExactLimit;
        }
        std::int64_t start = 0;
        if (!one_chunk) std::fill(all_pos.begin(), all_pos.end(), 0.0), std::fill(all_neg.begin(), all_neg.end(), 0.0);
        for (std::int64_t s = 0; s < S && !one_chunk; ++s) {
            bool over = false;
            for (std::int64_t fi = 0; fi < nf && !over; ++fi) {
                const auto i = static_cast<std::size_t>(fi), j = static_cast<std::size_t>(fi * S + s);
                over = std::max(run_pos[i] + pos[j], run_neg[i] + neg[j]) > kExactLimit;
            }
            if (over) {
                if (s == start) { fallback_to_gather = true; break; }
                grp.chunks.emplace_back(start, s);
                start = s;
                std::fill(run_pos.begin(), run_pos.end(), 0.0);
                std::fill(run_neg.begin(), run_neg.end(), 0.0);
            }
            for (std::int64_t fi = 0; fi < nf; ++fi) {
                const auto i = static_cast<std::size_t>(fi), j = static_cast<std::size_t>(fi * S + s);
                run_pos[i] += pos[j], run_neg[i] += neg[j], all_pos[i] += pos[j], all_neg[i] += neg[j];
            }
        }
        if (fallback_to_gather) break;
        grp.chunks.emplace_back(start, S);
        for (std::int64_t fi = 0; fi < nf; ++fi) {
            const auto i = static_cast<std::size_t>(fi);
            const double c = std::fabs(static_cast<double>(grp.cst[i]));
            grp.any_cst = grp.any_cst || c != 0;
            sep_bound[static_cast<std::size_t>(filters[i])] += std::max(all_pos[i], all_neg[i]) + c;
        }
        if (g.G > 1 && grp.chunks.size() > 1) { fallback_to_gather = true; break; }
        if (detail::int8_kernel_available()) {
            std::vector<const std::vector<float>*> luts;
            for (std::size_t ti : grp.terms) luts.push_back(&m.terms[ti].lut);
            grp.int8 = detail::Int8Conv::build(g, wt, luts, allowed, grp.cst);
        }
        // The float path's per-chunk inputs (not needed when the integer kernel runs).
        grp.chunk_of.assign(static_cast<std::size_t>(S), 0);
        for (std::size_t j = 0; j < grp.chunks.size(); ++j) {
            const auto [c0, c1] = grp.chunks[j];
            for (std::int64_t c = c0; c < c1; ++c) grp.chunk_of[static_cast<std::size_t>(c)] = static_cast<std::int32_t>(j);
            if (!grp.int8) grp.chunk_weights.push_back(wt.narrow(1, c0, c1 - c0).to(at::kFloat).contiguous());
        }
        std::ostringstream os;
        os << "separable";
        for (int b : bset)
            os << " " << library[static_cast<std::size_t>(b)]->name << " (" << (is_table_form(b) ? "table" : "error")
               << " rank " << form[b]->rank << ")";
        os << ": " << nf << " of " << g.F << " filters, " << T << " terms, " << grp.chunks.size() << " chunk"
           << (grp.chunks.size() > 1 ? "s" : "") << (grp.int8 ? " (int8 kernel: " + std::to_string(grp.int8->parts()) + " parts)" : "");
        grp.label = os.str();
        m.groups.push_back(std::move(grp));
    }
    if (fallback_to_gather) {
        m.groups.clear();
        for (auto& [b, sep] : separable) sep = false;
        std::fill(sep_of.begin(), sep_of.end(), 0);
        std::fill(tf_of.begin(), tf_of.end(), 0);
        std::fill(gather_count.begin(), gather_count.end(), g.K);
        std::fill(sep_bound.begin(), sep_bound.end(), 0.0);
        m.notes.push_back("separable terms exceed the float32 exactness bound even per channel or in a grouped conv: gather");
    }

    // Gather part: every multiplication whose block is not on the separable path.
    GatherPart& gp = m.gather;
    std::set<TableType> types;
    for (auto [b, sep] : separable)
        if (!sep) types.insert(library[static_cast<std::size_t>(b)]->table_type);
    gp.type = types.size() == 1 ? *types.begin() : TableType::Int32;
    std::map<int, std::size_t> widened_index;
    if (types.size() > 1)
        for (auto [b, sep] : separable) {
            if (sep) continue;
            const CompiledBlock& blk = *library[static_cast<std::size_t>(b)];
            std::vector<std::int32_t> cols(65536);
            for (std::uint32_t wc2 = 0; wc2 < 256; ++wc2)
                for (std::uint32_t a = 0; a < 256; ++a) cols[wc2 * 256 + a] = blk.lookup(a, wc2);
            widened_index[b] = gp.widened.size();
            gp.widened.push_back(std::move(cols));
        }
    gp.group_filters.assign(static_cast<std::size_t>(g.G), {});
    gp.entry_begin.assign(static_cast<std::size_t>(g.F) + 1, 0);
    gp.zw.assign(static_cast<std::size_t>(g.F), 0);
    gp.cst.assign(static_cast<std::size_t>(g.F), 0);
    gp.with_asum = !m.is_signed;
    std::vector<double> gather_bound(static_cast<std::size_t>(g.F), 0.0);
    // max_a |T[a][w]| per weight code, per gathered block (once, not per weight).
    std::vector<std::array<std::int32_t, 256>> colmax_of(library.size());
    for (auto [b, sep] : separable) {
        if (sep) continue;
        const CompiledBlock& blk = *library[static_cast<std::size_t>(b)];
        auto& cm = colmax_of[static_cast<std::size_t>(b)];
        for (std::uint32_t wc2 = 0; wc2 < 256; ++wc2) {
            std::int32_t mx = 0;
            for (std::uint32_t a = 0; a < 256; ++a) mx = std::max(mx, std::abs(blk.lookup(a, wc2)));
            cm[wc2] = mx;
        }
    }
    for (std::int64_t f = 0; f < g.F; ++f) {
        gp.entry_begin[static_cast<std::size_t>(f)] = static_cast<std::int64_t>(gp.entries.size());
        const std::int32_t zw = m.is_signed ? 0 : wq.zero[static_cast<std::size_t>(f)];
        gp.zw[static_cast<std::size_t>(f)] = zw;
        std::int64_t cst = 0;
        bool any = false;
        // Filters without gathered products skip the walk over their weights.
        for (std::int64_t k = 0; k < g.K && gather_count[static_cast<std::size_t>(f)] > 0; ++k) {
            const int b = block_at(assignment, f, k, g.K);
            if (sep_of[static_cast<std::size_t>(b)]) continue;
            any = true;
            const CompiledBlock& blk = *library[static_cast<std::size_t>(b)];
            const std::uint32_t code = w[f * g.K + k];
            const void* col = types.size() > 1 ? static_cast<const void*>(gp.widened[widened_index[b]].data() + code * 256)
                                               : blk.column(code);
            gp.entries.push_back({static_cast<std::int32_t>(k), col});
            gather_bound[static_cast<std::size_t>(f)] += colmax_of[static_cast<std::size_t>(b)][code] + std::abs(zw) * 255.0;
            if (!m.is_signed) cst += -static_cast<std::int64_t>(m.za) * code + static_cast<std::int64_t>(m.za) * zw;
        }
        gp.cst[static_cast<std::size_t>(f)] = cst;
        gather_bound[static_cast<std::size_t>(f)] += std::fabs(static_cast<double>(cst));
        if (any) gp.group_filters[static_cast<std::size_t>(f / g.Fg)].push_back(f);
    }
    gp.entry_begin[static_cast<std::size_t>(g.F)] = static_cast<std::int64_t>(gp.entries.size());
    gp.positions = static_cast<std::int64_t>(gp.entries.size());
    if (gp.positions > 0 && gp.type != TableType::Int32 && detail::byte_lookup_available()) {
        gp.vector = true;
        std::map<const void*, std::int64_t> split_at;  // column -> its split's offset
        for (const GatherEntry& e : gp.entries) {
            auto [it, fresh] = split_at.emplace(e.col, static_cast<std::int64_t>(gp.split.size()));
            if (fresh) {
                gp.split.resize(gp.split.size() + 512);
                detail::split_column(e.col, gp.type == TableType::Int16, gp.split.data() + it->second);
            }
            gp.rows.push_back(e.k);
            gp.split_offset.push_back(it->second);
        }
    }
    m.has_gather = !gp.entries.empty();
    for (std::int64_t f = 0; f < g.F; ++f)
        if (sep_bound[static_cast<std::size_t>(f)] + gather_bound[static_cast<std::size_t>(f)] > kExactLimit)
            m.double_out = true;
    if (m.has_gather) {
        // int32 accumulation of the gather part must not overflow either.
        for (std::int64_t f = 0; f < g.F; ++f)
            if (gather_bound[static_cast<std::size_t>(f)] > 2147483647.0)
                throw Error(layer_label(layer) + ": fan-in " + std::to_string(g.K) +
                            " too large for int32 accumulation of this block's table");
    }
}

LayerKernel::~LayerKernel() = default;

std::int64_t LayerKernel::gathered_positions() const {
    return impl_->mac ? impl_->g.F * impl_->g.K : impl_->gather.positions;
}

std::string LayerKernel::describe() const {
    std::ostringstream os;
    for (const auto& grp : impl_->groups) os << grp.label << "\n";
    if (impl_->has_gather) {
        std::int64_t nf = 0;
        for (const auto& fl : impl_->gather.group_filters) nf += static_cast<std::int64_t>(fl.size());
        os << "gather: " << impl_->gather.positions << " weight positions in " << nf << " filters\n";
    }
    if (impl_->mac) os << detail::describe_mac(*impl_->mac) << "\n";
    for (const auto& n : impl_->notes) os << n << "\n";
    return os.str();
}

at::Tensor LayerKernel::accumulate(const at::Tensor& codes_in) const {
    if (codes_in.scalar_type() != at::kByte)
        throw Error(layer_label(impl_->layer) + ": activation codes must be uint8");
    const at::Tensor codes = codes_in.contiguous();
    const auto& ar = impl_->act_range;
    if (ar[0] > (impl_->is_signed ? -128 : 0) || ar[1] < (impl_->is_signed ? 127 : 255)) {
        // The exactness bound assumed this range: check it.
        const at::Tensor v = impl_->is_signed ? codes.view(at::kChar) : codes;
        const std::int64_t lo = v.min().item<std::int64_t>(), hi = v.max().item<std::int64_t>();
        const std::int64_t z = impl_->za;
        if ((lo < ar[0] && lo != z) || (hi > ar[1] && hi != z))
            throw Error(layer_label(impl_->layer) + ": activation codes outside the range [" + std::to_string(ar[0]) +
                        ", " + std::to_string(ar[1]) + "] the kernel was built for");
    }
    return impl_->run(&codes, nullptr, nullptr);
}

bool LayerKernel::uses_codes() const {
    return impl_->has_gather || impl_->mac.has_value() ||
           std::any_of(impl_->groups.begin(), impl_->groups.end(), [](const SepGroup& grp) { return grp.int8 != nullptr; });
}

at::Tensor LayerKernel::accumulate_quantized(const at::Tensor& codes) const { return impl_->run(&codes, nullptr, nullptr); }

at::Tensor LayerKernel::accumulate(const at::Tensor& x_in, const ActQuant& q) const {
    const at::Tensor x = x_in.to(at::kFloat).contiguous();
    if (uses_codes()) {
        const at::Tensor codes = quantize_codes(x, q, layer_label(impl_->layer).c_str());
        return impl_->run(&codes, nullptr, nullptr);
    }
    return impl_->run(nullptr, &x, &q);
}

at::Tensor LayerKernel::Impl::run(const at::Tensor* codes_p, const at::Tensor* x_p, const ActQuant* q) const {
    const Impl& m = *this;
    const at::Tensor& codes = codes_p ? *codes_p : *x_p;  // shape source
    // The operand transforms and the gather kernel are CPU code (the GEMM parts are LibTorch
    // ops and would run anywhere); refuse rather than read device memory from the host.
    if (!codes.device().is_cpu())
        throw Error(layer_label(m.layer) + ": the engine's kernels run on the CPU; the input is on " +
                    codes.device().str());
    const std::int64_t N = codes.size(0);
    std::int64_t H = 1, W = 1, OH = 1, OW = 1;
    if (g.linear) {
        if (codes.dim() != 2 || codes.size(1) != g.C)
            throw Error(layer_label(m.layer) + ": expected input [N, " + std::to_string(g.C) + "], got " +
                        c10::str(codes.sizes()));
    } else {
        if (codes.dim() != 4 || codes.size(1) != g.C)
            throw Error(layer_label(m.layer) + ": expected input [N, " + std::to_string(g.C) + ", H, W], got " +
                        c10::str(codes.sizes()));
        H = codes.size(2), W = codes.size(3);
        const auto o = output_size(m.layer, H, W);
        OH = o[0], OW = o[1];
        if (OH < 1 || OW < 1) throw Error(layer_label(m.layer) + ": input " + c10::str(codes.sizes()) + " too small");
    }
    const auto out_dtype = m.double_out ? at::kDouble : at::kFloat;
    const auto shape = g.linear ? std::vector<std::int64_t>{N, g.F} : std::vector<std::int64_t>{N, g.F, OH, OW};
    if (m.mac) {
        at::Tensor out = at::empty(shape, codes.options().dtype(at::kDouble));
        detail::run_mac(g, *m.mac, codes.data_ptr<std::uint8_t>(), m.zero_code, N, H, W, OH, OW, out.data_ptr<double>());
        return out;
    }
    at::Tensor result;
    for (const auto& grp : m.groups) {
        at::Tensor y;
        if (grp.int8) {  // uses_codes() made the caller quantize first
            y = grp.int8->run(*codes_p, N, H, W, OH, OW, out_dtype);
        } else {
            std::vector<at::Tensor> x;
            if (codes_p) {
                const std::uint8_t* c = codes_p->data_ptr<std::uint8_t>();
                x = m.expand([c](std::int64_t i) { return c[i]; }, N, H, W, codes.options(), grp);
            } else {
                const float* f = x_p->data_ptr<float>();
                const ActQuant qq = *q;
                std::atomic<bool> bad{false};
                x = m.expand(
                    [f, qq, &bad](std::int64_t i) {
                        if (!std::isfinite(f[i])) bad.store(true, std::memory_order_relaxed);
                        return quantize_one(f[i], qq);
                    },
                    N, H, W, codes.options(), grp);
                if (bad) throw Error(layer_label(m.layer) + ": input holds NaN or Inf values");
            }
            for (std::size_t j = 0; j < grp.chunks.size(); ++j) {
                at::Tensor part = m.conv(x[j], grp.chunk_weights[j]);
                if (grp.chunks.size() > 1) part = part.to(at::kDouble);
                y = y.defined() ? y.add_(part) : part;
            }
            y = y.to(out_dtype);
            if (grp.any_cst) {
                at::Tensor c = at::tensor(grp.cst, at::kDouble).to(out_dtype);
                y.add_(g.linear ? c.view({1, -1}) : c.view({1, -1, 1, 1}));
            }
        }
        if (grp.all_filters) {
            result = y;
        } else {
            if (!result.defined()) result = at::zeros(shape, codes.options().dtype(out_dtype));
            result.index_copy_(1, at::tensor(grp.filters, at::kLong), y);
        }
    }
    if (m.has_gather) {
        at::Tensor gi = at::zeros(shape, codes.options().dtype(at::kInt));
        switch (m.gather.type) {
            case TableType::Int16: run_gather<std::int16_t>(g, m.gather, codes, m.zero_code, N, H, W, OH, OW, gi.data_ptr<std::int32_t>()); break;
            case TableType::UInt16: run_gather<std::uint16_t>(g, m.gather, codes, m.zero_code, N, H, W, OH, OW, gi.data_ptr<std::int32_t>()); break;
            case TableType::Int32: run_gather<std::int32_t>(g, m.gather, codes, m.zero_code, N, H, W, OH, OW, gi.data_ptr<std::int32_t>()); break;
        }
        result = result.defined() ? result.add_(gi.to(out_dtype)) : gi.to(out_dtype);
    }
    if (!result.defined()) result = at::zeros(shape, codes.options().dtype(out_dtype));
    return result;
}

std::array<std::int64_t, 2> output_size(const LayerDesc& l, std::int64_t h, std::int64_t w) {
    if (l.linear) return {1, 1};
    return {(h + 2 * l.padding[0] - l.dilation[0] * (l.kernel[0] - 1) - 1) / l.stride[0] + 1,
            (w + 2 * l.padding[1] - l.dilation[1] * (l.kernel[1] - 1) - 1) / l.stride[1] + 1};
}

void validate_assignment(const LayerDesc& layer, const BlockLibrary& library, const LayerAssignment& a) {
    const std::int64_t F = layer.out_channels, K = layer.fan_in();
    std::int64_t want = 1;
    if (a.granularity == Granularity::Filter) want = F;
    if (a.granularity == Granularity::Operation) want = F * K;
    if (static_cast<std::int64_t>(a.units.size()) != want)
        throw Error(layer_label(layer) + ": a " + to_string(a.granularity) + "-level assignment needs " +
                    std::to_string(want) + " block choices, got " + std::to_string(a.units.size()));
    bool is_signed = true;
    bool first = true;
    for (int b : a.units) {
        if (b < 0 || static_cast<std::size_t>(b) >= library.size())
            throw Error(layer_label(layer) + ": block index " + std::to_string(b) + " outside the library of " +
                        std::to_string(library.size()) + " blocks");
        if (first) is_signed = library[static_cast<std::size_t>(b)]->is_signed, first = false;
        else if (library[static_cast<std::size_t>(b)]->is_signed != is_signed)
            throw Error(layer_label(layer) + ": mixes signed and unsigned blocks; one layer has one quantization scheme");
    }
}

at::Tensor reference_accumulate(const LayerDesc& layer, const WeightQuant& wq, std::int32_t act_zero,
                                const BlockLibrary& library, const LayerAssignment& a, const at::Tensor& codes_in,
                                int auto_tree) {
    validate_assignment(layer, library, a);
    const Geometry g = geometry_of(layer);
    const at::Tensor codes = codes_in.contiguous();
    const std::uint8_t* x = codes.data_ptr<std::uint8_t>();
    const at::Tensor wc = wq.codes.contiguous();
    const std::uint8_t* w = wc.data_ptr<std::uint8_t>();
    const std::int64_t za = wq.is_signed ? 0 : act_zero;
    const std::uint8_t zcode = static_cast<std::uint8_t>(za & 0xFF);
    const std::int64_t N = codes.size(0);
    std::int64_t H = 1, W = 1, OH = 1, OW = 1;
    if (!g.linear) {
        H = codes.size(2), W = codes.size(3);
        const auto o = output_size(layer, H, W);
        OH = o[0], OW = o[1];
    }
    at::Tensor out = at::zeros(g.linear ? at::IntArrayRef{N, g.F} : at::IntArrayRef{N, g.F, OH, OW}, at::kLong);
    std::int64_t* o = out.data_ptr<std::int64_t>();
    const std::string label = layer_label(layer);
    std::vector<detail::MacFilter> accumulation;
    for (std::int64_t f = 0; f < g.F; ++f) accumulation.push_back(detail::filter_accumulation(g, library, a, f, label, auto_tree));
    std::vector<std::int64_t> products(static_cast<std::size_t>(g.K));
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t f = 0; f < g.F; ++f) {
            const std::int64_t grp = f / g.Fg;
            const std::int64_t zw = wq.is_signed ? 0 : wq.zero[static_cast<std::size_t>(f)];
            for (std::int64_t oh = 0; oh < OH; ++oh)
                for (std::int64_t ow = 0; ow < OW; ++ow) {
                    std::int64_t acc = 0;  // the zero-point terms, exact
                    for (std::int64_t k = 0; k < g.K; ++k) {
                        std::uint8_t ac;
                        if (g.linear) {
                            ac = x[n * g.C + k];
                        } else {
                            const std::int64_t c = k / (g.kh * g.kw), i = (k / g.kw) % g.kh, j = k % g.kw;
                            const std::int64_t ih = oh * g.sh - g.ph + i * g.dh, iw = ow * g.sw - g.pw + j * g.dw;
                            ac = ih >= 0 && ih < H && iw >= 0 && iw < W ? x[((n * g.C + grp * g.Cg + c) * H + ih) * W + iw] : zcode;
                        }
                        const std::uint8_t wcode = w[f * g.K + k];
                        const CompiledBlock& blk = *library[static_cast<std::size_t>(block_at(a, f, k, g.K))];
                        products[static_cast<std::size_t>(k)] = blk.lookup(ac, wcode);
                        if (!wq.is_signed) acc += -zw * ac - za * wcode + za * zw;
                    }
                    // The products through the filter's adder in its order (a plain sum without one).
                    acc += detail::mac_sum(accumulation[static_cast<std::size_t>(f)], products, label, f);
                    o[((n * g.F + f) * OH + oh) * OW + ow] = acc;
                }
        }
    return out;
}

}  // namespace hawx::engine
