#include "hawx/engine/scoring.hpp"

#include <hawx/sdk/error.hpp>

#include <cmath>
#include <limits>
#include <map>

#include <tbb/parallel_for.h>

#include "geometry.hpp"

namespace hawx::engine {

using detail::Geometry;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One layer's profile: its records (one per profiled batch) with |dL/dy| and the im2col of
// every image's codes, cols[group][image][k * P + p].
struct LayerData {
    LayerDesc desc;
    Geometry g;
    std::int64_t N = 0, P = 1;
    float out_scale_a = 1;  // s_a
    const WeightQuant* wq = nullptr;
    std::vector<at::Tensor> absgrad;               // per record, float [Nb, F, P]
    std::vector<std::vector<std::uint8_t>> cols;  // per group: [N][K][P]
};

std::vector<LayerData> collect(const std::vector<LayerProfile>& records) {
    std::map<int, std::vector<const LayerProfile*>> by_layer;
    for (const auto& r : records) {
        if (!r.output.defined() || !r.output.grad().defined())
            throw Error("scoring: layer " + std::to_string(r.layer.index) + " has no gradient (run backward first)");
        by_layer[r.layer.index].push_back(&r);
    }
    std::vector<LayerData> out;
    for (auto& [index, recs] : by_layer) {
        LayerData d;
        d.desc = recs.front()->layer;
        d.g = detail::geometry_of(d.desc);
        d.out_scale_a = recs.front()->act.scale;
        d.wq = recs.front()->weights;
        const Geometry& g = d.g;
        std::int64_t OH = 1, OW = 1;
        if (!g.linear) OH = recs.front()->output.size(2), OW = recs.front()->output.size(3);
        d.P = OH * OW;
        for (const auto* r : recs) d.N += r->codes.size(0);
        d.cols.assign(static_cast<std::size_t>(g.G), std::vector<std::uint8_t>(static_cast<std::size_t>(d.N * g.K * d.P)));
        std::int64_t n0 = 0;
        for (const auto* r : recs) {
            if (r->act.scale != d.out_scale_a || r->weights != d.wq)
                throw Error("scoring: layer " + std::to_string(index) + " was profiled with different quantizers");
            d.absgrad.push_back(r->grad().detach().abs().to(at::kFloat).contiguous().view({r->codes.size(0), g.F, d.P}));
            const at::Tensor codes = r->codes.contiguous();
            const std::int64_t H = g.linear ? 1 : codes.size(2), W = g.linear ? 1 : codes.size(3);
            for (std::int64_t grp = 0; grp < g.G; ++grp)
                for (std::int64_t n = 0; n < codes.size(0); ++n)
                    detail::im2col_tile(g, codes.data_ptr<std::uint8_t>(), H, W, OH, OW, grp, n * d.P, d.P,
                                        static_cast<std::uint8_t>(r->act.zero_code()),
                                        d.cols[static_cast<std::size_t>(grp)].data() + (n0 + n) * g.K * d.P);
            n0 += codes.size(0);
        }
        out.push_back(std::move(d));
    }
    return out;
}

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

}  // namespace

ScoreTable score_hawx(const std::vector<LayerProfile>& records, const BlockLibrary& library, bool per_position) {
    const std::vector<LayerData> data = collect(records);
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
    finish(t, library);
    return t;
}

ScoreTable score_direct(const std::vector<LayerProfile>& records, const BlockLibrary& library) {
    const std::vector<LayerData> data = collect(records);
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
    finish(t, library);
    return t;
}

}  // namespace hawx::engine
