#include "hawx/engine/scoring.hpp"

#include <hawx/sdk/error.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <limits>
#include <map>

#include <tbb/parallel_for.h>

#include "geometry.hpp"
#include "profile_data.hpp"

namespace hawx::engine {

using detail::Geometry;
using detail::LayerData;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// |E_b| transposed, [w][a], for the blocks matching the profile's signedness.
std::vector<std::vector<double>> abs_errors(const BlockLibrary& library, bool is_signed) {
    std::vector<std::vector<double>> e(library.size());
    for (std::size_t b = 0; b < library.size(); ++b) {
        if (library[b]->is_signed != is_signed) continue;
        e[b].resize(65536);
        for (std::uint32_t w = 0; w < 256; ++w)
            for (std::uint32_t a = 0; a < 256; ++a) {
                const double exact = static_cast<double>(code_to_value(a, 8, is_signed)) * code_to_value(w, 8, is_signed);
                e[b][w * 256 + a] = std::fabs(static_cast<double>(library[b]->lookup(a, w)) - exact);
            }
    }
    return e;
}

// h[a] += the sum of |dL/dy| over the (image, position) pairs where operand code a meets
// weight position k of filter f.
void add_gradient_histogram(const LayerData& d, const Geometry& g, const std::uint8_t* cols, std::int64_t f, std::int64_t k,
                            std::vector<double>& h) {
    std::int64_t n0 = 0;
    for (const at::Tensor& ag : d.absgrad) {
        const float* gp = ag.data_ptr<float>();
        for (std::int64_t n = 0; n < ag.size(0); ++n) {
            const float* gr = gp + (n * g.F + f) * d.P;
            const std::uint8_t* x = cols + ((n0 + n) * g.K + k) * d.P;
            for (std::int64_t p = 0; p < d.P; ++p) h[x[p]] += gr[p];
        }
        n0 += ag.size(0);
    }
}

// MAC blocks with an approximate adder: per output element the accumulated error of the
// adder in its order, dy = y(products through the adder) - y(products summed exactly), both
// from the block's own products, adds |dL/dy| * |dy| * s_a * s_w[f] (mean over the inputs)
// to the filter's sum; the means stay per multiplication (sum / (P * K)). Per-position
// scores (operation granularity) do not include it: one accumulator serves a whole filter.
void add_adder_scores(const std::vector<LayerProfile>& records, const BlockLibrary& library, ScoreTable& t) {
    for (std::size_t b = 0; b < library.size(); ++b) {
        const CompiledBlock& blk = *library[b];
        if (!blk.adder) continue;
        auto plain = std::make_shared<CompiledBlock>(blk);
        plain->adder.reset();
        const BlockLibrary with{library[b]}, without{plain};
        for (std::size_t li = 0; li < t.layers.size(); ++li) {
            LayerScores& ls = t.s[li][b];
            if (ls.filter_sum.empty()) continue;  // signedness differs from the profile
            const std::int64_t F = t.layers[li].out_channels;
            std::vector<double> add(static_cast<std::size_t>(F), 0.0);
            for (const LayerProfile& r : records) {
                if (r.layer.index != t.layers[li].index) continue;
                if (!r.grad().defined()) throw Error(detail::layer_label(r.layer) + ": scoring an adder needs dL/dy (run backward first)");
                const LayerAssignment a{Granularity::Layer, {0}};
                const LayerKernel mac(r.layer, *r.weights, r.act.zero, with, a, KernelPath::Auto, {-128, 255}, r.auto_tree);
                const LayerKernel sum(r.layer, *r.weights, r.act.zero, without, a, KernelPath::Auto);
                const at::Tensor dy = (mac.accumulate(r.codes).to(at::kDouble) - sum.accumulate(r.codes).to(at::kDouble)).abs();
                const at::Tensor g = r.grad().to(at::kDouble).abs().reshape(dy.sizes());
                const at::Tensor per_f = (dy * g).transpose(0, 1).reshape({F, -1}).sum(1).contiguous();
                const double* pf = per_f.data_ptr<double>();
                for (std::int64_t f = 0; f < F; ++f)
                    add[static_cast<std::size_t>(f)] += pf[f] * r.act.scale * r.weights->scale[static_cast<std::size_t>(f)];
            }
            const double ops_per_filter = static_cast<double>(ls.operations) / static_cast<double>(F);
            for (std::int64_t f = 0; f < F; ++f) {
                ls.filter_sum[static_cast<std::size_t>(f)] += add[static_cast<std::size_t>(f)] / static_cast<double>(t.inputs);
                ls.filter_mean[static_cast<std::size_t>(f)] = ls.filter_sum[static_cast<std::size_t>(f)] / ops_per_filter;
            }
        }
    }
}

void finish(ScoreTable& t, const BlockLibrary& library) {
    const std::size_t B = library.size();
    t.model_mean.assign(B, 0);
    t.model_sum.assign(B, 0);
    for (std::size_t b = 0; b < B; ++b) {
        std::int64_t ops = 0;
        bool scored = true;
        for (auto& layer : t.s) {
            LayerScores& ls = layer[b];
            if (ls.filter_sum.empty()) {
                scored = false;
                ls.layer_mean = ls.layer_sum = kNaN;
                continue;
            }
            ls.layer_sum = 0;
            for (double v : ls.filter_sum) ls.layer_sum += v;
            ls.layer_mean = ls.layer_sum / static_cast<double>(ls.operations);
            t.model_sum[b] += ls.layer_sum;
            ops += ls.operations;
        }
        t.model_mean[b] = scored && ops > 0 ? t.model_sum[b] / static_cast<double>(ops) : kNaN;
        if (!scored) t.model_sum[b] = kNaN;
    }
}

// A compiled block seen through the SDK interface, for metrics (8x8 bits, table lookups).
class CompiledBlockView final : public ApproxBlock {
public:
    explicit CompiledBlockView(const CompiledBlock& b) : b_(b) {}
    BlockOp op() const override { return BlockOp::Multiply; }
    int activation_bits() const override { return 8; }
    int weight_bits() const override { return 8; }
    bool is_signed() const override { return b_.is_signed; }
    std::int32_t apply(std::int32_t a, std::int32_t w) const override {
        return b_.lookup(value_to_code(a, 8), value_to_code(w, 8));
    }
    HardwareCost cost() const override { return {}; }
    void fill_table(std::int32_t* out) const override { std::copy(b_.table.begin(), b_.table.end(), out); }

private:
    const CompiledBlock& b_;
};

}  // namespace

ScoreTable score_with_metric(const std::vector<LayerProfile>& records, const BlockLibrary& library,
                             const SensitivityMetric& metric, const ScoreOptions& options) {
    const std::vector<LayerData> data = detail::collect_profile(records, metric.needs_gradients());
    if (data.empty()) throw Error("scoring: the profile is empty");
    ScoreTable t;
    t.inputs = data.front().N;
    const std::size_t B = library.size();
    std::vector<CompiledBlockView> views;
    views.reserve(B);
    for (const auto& b : library) views.emplace_back(*b);
    for (const LayerData& d : data) {
        const Geometry& g = d.g;
        t.layers.push_back(d.desc);
        auto& layer = t.s.emplace_back(B);
        const bool is_signed = d.wq->is_signed;
        std::vector<std::size_t> blocks;  // those matching the profile's signedness
        for (std::size_t b = 0; b < B; ++b) {
            if (library[b]->is_signed != is_signed) continue;
            blocks.push_back(b);
            layer[b].filter_mean.assign(static_cast<std::size_t>(g.F), 0);
            layer[b].filter_sum.assign(static_cast<std::size_t>(g.F), 0);
            if (options.per_position) layer[b].position_mean.assign(static_cast<std::size_t>(g.F * g.K), 0);
            layer[b].operations = g.F * d.P * g.K;
        }
        if (blocks.empty()) continue;
        const at::Tensor wc = d.wq->codes.contiguous();
        const std::uint8_t* w = wc.data_ptr<std::uint8_t>();
        const double inv_n = 1.0 / static_cast<double>(d.N);
        tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, g.F), [&](const tbb::blocked_range<std::int64_t>& fr) {
            std::vector<double> G(65536), C(65536), PG, PC, hg(256), hc(256);
            if (options.per_position) PG.assign(65536, 0.0), PC.assign(65536, 0.0);
            std::vector<std::uint32_t> support, psupport;
            support.reserve(65536);
            psupport.reserve(256);
            for (std::int64_t f = fr.begin(); f < fr.end(); ++f) {
                std::fill(G.begin(), G.end(), 0.0);
                std::fill(C.begin(), C.end(), 0.0);
                const std::uint8_t* cols = d.cols[static_cast<std::size_t>(f / g.Fg)].data();
                UnitProfile unit;
                unit.fan_in = g.K;
                unit.output_scale = static_cast<double>(d.out_scale_a) * d.wq->scale[static_cast<std::size_t>(f)];
                unit.is_signed = is_signed;
                for (std::int64_t k = 0; k < g.K; ++k) {
                    std::fill(hg.begin(), hg.end(), 0.0);
                    std::fill(hc.begin(), hc.end(), 0.0);
                    for (std::int64_t n = 0; n < d.N; ++n) {
                        const std::uint8_t* x = cols + (n * g.K + k) * d.P;
                        for (std::int64_t p = 0; p < d.P; ++p) hc[x[p]] += 1.0;
                    }
                    add_gradient_histogram(d, g, cols, f, k, hg);
                    const std::uint32_t wk = w[f * g.K + k];
                    psupport.clear();
                    for (std::uint32_t a = 0; a < 256; ++a) {
                        if (hc[a] == 0) continue;
                        const std::uint32_t idx = (a << 8) | wk;
                        G[idx] += hg[a] * inv_n;
                        C[idx] += hc[a] * inv_n;
                        if (options.per_position) {
                            PG[idx] = hg[a] * inv_n;
                            PC[idx] = hc[a] * inv_n;
                            psupport.push_back(idx);
                        }
                    }
                    if (options.per_position) {
                        UnitProfile pu = unit;
                        pu.grad_weighted = PG.data();
                        pu.counts = PC.data();
                        pu.operations = static_cast<std::uint64_t>(d.P);
                        pu.support = psupport.data();
                        pu.support_size = psupport.size();
                        for (std::size_t b : blocks)
                            layer[b].position_mean[static_cast<std::size_t>(f * g.K + k)] =
                                metric.score(views[b], library[b]->table, pu);
                        for (std::uint32_t idx : psupport) PG[idx] = PC[idx] = 0.0;
                    }
                }
                support.clear();
                for (std::uint32_t i = 0; i < 65536; ++i)
                    if (C[i] != 0) support.push_back(i);
                unit.grad_weighted = G.data();
                unit.counts = C.data();
                unit.operations = static_cast<std::uint64_t>(d.P * g.K);
                unit.support = support.data();
                unit.support_size = support.size();
                for (std::size_t b : blocks) {
                    const double mean = metric.score(views[b], library[b]->table, unit);
                    if (!std::isfinite(mean) || mean < 0)
                        throw Error("scoring: the metric returned " + std::to_string(mean) + " for block " +
                                    library[b]->name + " in layer " + std::to_string(d.desc.index) +
                                    " (must be finite and >= 0)");
                    layer[b].filter_mean[static_cast<std::size_t>(f)] = mean;
                    layer[b].filter_sum[static_cast<std::size_t>(f)] = mean * static_cast<double>(d.P * g.K);
                }
            }
        });
    }
    add_adder_scores(records, library, t);
    finish(t, library);
    return t;
}

ScoreTable score_hawx(const std::vector<LayerProfile>& records, const BlockLibrary& library, bool per_position) {
    const std::vector<LayerData> data = detail::collect_profile(records, true);
    ScoreTable t;
    if (data.empty()) throw Error("scoring: the profile is empty");
    t.inputs = data.front().N;
    const std::size_t B = library.size();
    std::map<bool, std::vector<std::vector<double>>> abs_e;
    for (const LayerData& d : data) {
        const Geometry& g = d.g;
        t.layers.push_back(d.desc);
        auto& layer = t.s.emplace_back(B);
        const bool is_signed = d.wq->is_signed;
        if (!abs_e.count(is_signed)) abs_e[is_signed] = abs_errors(library, is_signed);
        const auto& E = abs_e[is_signed];
        for (std::size_t b = 0; b < B; ++b) {
            if (E[b].empty()) continue;
            layer[b].filter_mean.assign(static_cast<std::size_t>(g.F), 0);
            layer[b].filter_sum.assign(static_cast<std::size_t>(g.F), 0);
            if (per_position) layer[b].position_mean.assign(static_cast<std::size_t>(g.F * g.K), 0);
            layer[b].operations = g.F * d.P * g.K;
        }
        const at::Tensor wc = d.wq->codes.contiguous();
        const std::uint8_t* w = wc.data_ptr<std::uint8_t>();
        tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, g.F), [&](const tbb::blocked_range<std::int64_t>& fr) {
            std::vector<double> H(65536), h(256);
            for (std::int64_t f = fr.begin(); f < fr.end(); ++f) {
                std::fill(H.begin(), H.end(), 0.0);
                const std::int64_t grp = f / g.Fg;
                const std::uint8_t* cols = d.cols[static_cast<std::size_t>(grp)].data();
                const double scale = static_cast<double>(d.out_scale_a) * d.wq->scale[static_cast<std::size_t>(f)];
                for (std::int64_t k = 0; k < g.K; ++k) {
                    // h[a]: sum of |dL/dy| over the (image, position) pairs where operand a meets w_fk.
                    std::fill(h.begin(), h.end(), 0.0);
                    add_gradient_histogram(d, g, cols, f, k, h);
                    const std::uint32_t wk = w[f * g.K + k];
                    double* row = H.data() + wk * 256;
                    for (int a = 0; a < 256; ++a) row[a] += h[static_cast<std::size_t>(a)];
                    if (per_position)
                        for (std::size_t b = 0; b < B; ++b) {
                            if (E[b].empty()) continue;
                            const double* e = E[b].data() + wk * 256;
                            double s = 0;
                            for (int a = 0; a < 256; ++a) s += h[static_cast<std::size_t>(a)] * e[a];
                            layer[b].position_mean[static_cast<std::size_t>(f * g.K + k)] =
                                s * scale / static_cast<double>(d.N * d.P);
                        }
                }
                for (std::size_t b = 0; b < B; ++b) {
                    if (E[b].empty()) continue;
                    double s = 0;
                    for (std::size_t i = 0; i < 65536; ++i) s += H[i] * E[b][i];
                    const double sum = s * scale / static_cast<double>(d.N);
                    layer[b].filter_sum[static_cast<std::size_t>(f)] = sum;
                    layer[b].filter_mean[static_cast<std::size_t>(f)] = sum / static_cast<double>(d.P * g.K);
                }
            }
        });
    }
    add_adder_scores(records, library, t);
    finish(t, library);
    return t;
}

ScoreTable score_direct(const std::vector<LayerProfile>& records, const BlockLibrary& library) {
    const std::vector<LayerData> data = detail::collect_profile(records, true);
    ScoreTable t;
    if (data.empty()) throw Error("scoring: the profile is empty");
    t.inputs = data.front().N;
    for (const LayerData& d : data) {
        const Geometry& g = d.g;
        t.layers.push_back(d.desc);
        auto& layer = t.s.emplace_back(library.size());
        const at::Tensor wc = d.wq->codes.contiguous();
        const std::uint8_t* w = wc.data_ptr<std::uint8_t>();
        for (std::size_t b = 0; b < library.size(); ++b) {
            const CompiledBlock& blk = *library[b];
            if (blk.is_signed != d.wq->is_signed) continue;
            LayerScores& ls = layer[b];
            ls.filter_mean.assign(static_cast<std::size_t>(g.F), 0);
            ls.filter_sum.assign(static_cast<std::size_t>(g.F), 0);
            ls.position_mean.assign(static_cast<std::size_t>(g.F * g.K), 0);
            ls.operations = g.F * d.P * g.K;
            for (std::int64_t f = 0; f < g.F; ++f) {
                const double scale = static_cast<double>(d.out_scale_a) * d.wq->scale[static_cast<std::size_t>(f)];
                const std::uint8_t* cols = d.cols[static_cast<std::size_t>(f / g.Fg)].data();
                for (std::int64_t k = 0; k < g.K; ++k)
                    for (std::int64_t p = 0; p < d.P; ++p) {
                        double op = 0;  // hawx(o, b): mean over the inputs
                        std::int64_t n0 = 0;
                        for (const at::Tensor& ag : d.absgrad) {
                            for (std::int64_t n = 0; n < ag.size(0); ++n) {
                                const std::uint32_t a = cols[((n0 + n) * g.K + k) * d.P + p], wk = w[f * g.K + k];
                                const double err = std::fabs(static_cast<double>(blk.lookup(a, wk)) -
                                                             static_cast<double>(code_to_value(a, 8, blk.is_signed)) *
                                                                 code_to_value(wk, 8, blk.is_signed));
                                op += ag[n][f][p].item<float>() * err * scale;
                            }
                            n0 += ag.size(0);
                        }
                        op /= static_cast<double>(d.N);
                        ls.filter_sum[static_cast<std::size_t>(f)] += op;
                        ls.position_mean[static_cast<std::size_t>(f * g.K + k)] += op / static_cast<double>(d.P);
                    }
                ls.filter_mean[static_cast<std::size_t>(f)] =
                    ls.filter_sum[static_cast<std::size_t>(f)] / static_cast<double>(d.P * g.K);
            }
        }
    }
    add_adder_scores(records, library, t);
    finish(t, library);
    return t;
}

}  // namespace hawx::engine
