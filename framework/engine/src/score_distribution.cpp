#include "hawx/engine/score_distribution.hpp"

#include <hawx/sdk/error.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <tbb/parallel_for.h>

#include "profile_data.hpp"

namespace hawx::engine {

using detail::LayerData;

double log_bin_edge(int j) { return std::pow(10.0, -12.0 + j / 4.0); }

int distribution_bin(double v) {
    if (v == 0) return 0;
    if (v < log_bin_edge(0)) return 1;
    if (v >= log_bin_edge(kLogBins)) return kLogBins + 2;
    int j = static_cast<int>(std::floor(4.0 * (std::log10(v) + 12.0)));
    // log10 may land one bin off right at an edge; the edges themselves decide.
    j = std::clamp(j, 0, kLogBins - 1);
    if (v < log_bin_edge(j) && j > 0) --j;
    else if (j + 1 < kLogBins && v >= log_bin_edge(j + 1)) ++j;
    return j + 2;
}

namespace {

struct Weighted {
    std::vector<double> values;  // scores
    std::vector<double> weights;  // per value
};

void summarise(Weighted& w, ScoreDistribution& out) {
    std::vector<std::size_t> order(w.values.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return w.values[a] < w.values[b]; });
    double total = 0;
    for (double x : w.weights) total += x;
    out.bins.fill(0.0);
    for (std::size_t i = 0; i < w.values.size(); ++i) out.bins[static_cast<std::size_t>(distribution_bin(w.values[i]))] += w.weights[i];
    if (order.empty()) {
        out.quantiles.fill(std::nan(""));
        return;
    }
    out.quantiles.front() = w.values[order.front()];
    out.quantiles.back() = w.values[order.back()];
    for (std::size_t q = 1; q + 1 < kQuantileLevels.size(); ++q) {
        // a relative slack so that level * total rounding up (0.95 * 100) does not skip a value
        const double target = kQuantileLevels[q] * total * (1 - 1e-12);
        double cum = 0;
        double v = w.values[order.back()];
        for (std::size_t i : order) {
            cum += w.weights[i];
            if (cum >= target) {
                v = w.values[i];
                break;
            }
        }
        out.quantiles[q] = v;
    }
}

}  // namespace

std::vector<ScoreDistribution> score_distributions(const std::vector<LayerProfile>& records,
                                                   const BlockLibrary& library, const DistributionOptions& options) {
    if (options.exact_limit < 0 || options.samples < 1)
        throw Error("score distributions: exact_limit must be >= 0 and samples >= 1");
    const std::vector<LayerData> data = detail::collect_profile(records, true);
    if (data.empty()) throw Error("scoring: the profile is empty");
    const std::size_t B = library.size();
    std::vector<ScoreDistribution> rows;
    std::vector<Weighted> model(B);
    std::vector<std::int64_t> model_ops(B, 0), model_eval(B, 0);
    std::vector<bool> model_sampled(B, false);
    for (const LayerData& d : data) {
        const auto& g = d.g;
        const bool is_signed = d.wq->is_signed;
        std::vector<std::size_t> blocks;
        for (std::size_t b = 0; b < B; ++b)
            if (library[b]->is_signed == is_signed) blocks.push_back(b);
        if (blocks.empty()) continue;
        const std::int64_t ops = g.F * d.P * g.K;
        const bool sampled = ops > options.exact_limit;
        const std::int64_t count = sampled ? options.samples : ops;
        std::vector<std::int64_t> index(static_cast<std::size_t>(count));
        if (sampled) {
            std::mt19937_64 rng(options.seed ^ static_cast<std::uint64_t>(d.desc.index));
            for (auto& i : index) i = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(ops));
        } else {
            std::iota(index.begin(), index.end(), 0);
        }
        // values[bi][s]: hawx(o_s, blocks[bi]); o = (f * K + k) * P + p.
        std::vector<std::vector<double>> values(blocks.size(), std::vector<double>(static_cast<std::size_t>(count)));
        const at::Tensor wc = d.wq->codes.contiguous();
        const std::uint8_t* w = wc.data_ptr<std::uint8_t>();
        tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, count), [&](const tbb::blocked_range<std::int64_t>& r) {
            std::vector<double> acc(blocks.size());
            for (std::int64_t s = r.begin(); s < r.end(); ++s) {
                const std::int64_t o = index[static_cast<std::size_t>(s)];
                const std::int64_t p = o % d.P, fk = o / d.P, k = fk % g.K, f = fk / g.K;
                const std::uint8_t* cols = d.cols[static_cast<std::size_t>(f / g.Fg)].data();
                const std::uint32_t wk = w[f * g.K + k];
                const double scale = static_cast<double>(d.out_scale_a) * d.wq->scale[static_cast<std::size_t>(f)];
                std::fill(acc.begin(), acc.end(), 0.0);
                std::int64_t n0 = 0;
                for (const at::Tensor& ag : d.absgrad) {
                    const float* gp = ag.data_ptr<float>();
                    for (std::int64_t n = 0; n < ag.size(0); ++n) {
                        const double grad = gp[(n * g.F + f) * d.P + p];
                        const std::uint32_t a = cols[((n0 + n) * g.K + k) * d.P + p];
                        const double exact = static_cast<double>(code_to_value(a, 8, is_signed)) * code_to_value(wk, 8, is_signed);
                        for (std::size_t bi = 0; bi < blocks.size(); ++bi)
                            acc[bi] += grad * std::fabs(static_cast<double>(library[blocks[bi]]->lookup(a, wk)) - exact);
                    }
                    n0 += ag.size(0);
                }
                for (std::size_t bi = 0; bi < blocks.size(); ++bi)
                    values[bi][static_cast<std::size_t>(s)] = acc[bi] * scale / static_cast<double>(d.N);
            }
        });
        const double weight = static_cast<double>(ops) / static_cast<double>(count);
        for (std::size_t bi = 0; bi < blocks.size(); ++bi) {
            const std::size_t b = blocks[bi];
            ScoreDistribution row;
            row.layer = d.desc.index;
            row.name = d.desc.name;
            row.block = b;
            row.operations = ops;
            row.evaluated = count;
            row.sampled = sampled;
            Weighted wv{std::move(values[bi]), std::vector<double>(static_cast<std::size_t>(count), weight)};
            summarise(wv, row);
            rows.push_back(row);
            auto& m = model[b];
            m.values.insert(m.values.end(), wv.values.begin(), wv.values.end());
            m.weights.insert(m.weights.end(), wv.weights.begin(), wv.weights.end());
            model_ops[b] += ops;
            model_eval[b] += count;
            model_sampled[b] = model_sampled[b] || sampled;
        }
    }
    for (std::size_t b = 0; b < B; ++b) {
        if (model[b].values.empty()) continue;
        ScoreDistribution row;
        row.layer = 0;
        row.name = "model";
        row.block = b;
        row.operations = model_ops[b];
        row.evaluated = model_eval[b];
        row.sampled = model_sampled[b];
        summarise(model[b], row);
        rows.push_back(row);
    }
    return rows;
}

}  // namespace hawx::engine
