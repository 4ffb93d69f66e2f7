// The engine's metric route (score_with_metric) with the plugins: metrics.hawx equals the
// histogram route and the operation-by-operation definition on random small layers; metrics
// without gradients work on a profile without backward and match their closed forms built
// here from the raw codes; operation-score distributions equal a naive sort.
#include <gtest/gtest.h>

#include <hawx/engine/engine.hpp>
#include <hawx/engine/score_distribution.hpp>
#include <hawx/engine/scoring.hpp>

#include <algorithm>
#include <cmath>

#include "metric_test_util.hpp"

using namespace hawx;
using namespace hawx::engine;
using hawx::test::load_metric;
using hawx::test::mixed_library;

namespace {

struct LayerCase {
    std::string what;
    LayerDesc layer;
    std::vector<std::int64_t> input;  // per-image shape
};

std::vector<LayerCase> cases() {
    std::vector<LayerCase> c;
    LayerDesc a;
    a.index = 1, a.in_channels = 4, a.out_channels = 6, a.groups = 2, a.kernel = {3, 3}, a.stride = {2, 2},
    a.padding = {1, 1};
    c.push_back({"grouped conv, stride 2, padding 1", a, {4, 7, 9}});
    LayerDesc b;
    b.index = 1, b.in_channels = 3, b.out_channels = 4, b.kernel = {2, 3}, b.stride = {1, 2}, b.padding = {0, 1},
    b.dilation = {2, 1};
    c.push_back({"conv 2x3, dilation 2x1", b, {3, 6, 5}});
    LayerDesc l;
    l.index = 1, l.linear = true, l.in_channels = 20, l.out_channels = 5;
    c.push_back({"linear", l, {20}});
    return c;
}

// One layer profiled over two batches (3 + 2 inputs) with a random linear loss, so that dL/dy
// is random; `backward` false leaves the records without gradients.
struct OneLayer {
    BlockLibrary lib;
    Engine engine;
    at::Tensor w, bias;
    OneLayer(const LayerCase& c, bool is_signed, bool backward, std::uint64_t seed)
        : lib(mixed_library(is_signed)), engine(lib) {
        at::manual_seed(static_cast<std::int64_t>(seed));
        const auto& d = c.layer;
        w = d.linear ? at::randn({d.out_channels, d.in_channels})
                     : at::randn({d.out_channels, d.in_channels / d.groups, d.kernel[0], d.kernel[1]});
        bias = at::randn({d.out_channels}) * 0.1;
        const auto batch = [&](std::int64_t n) {
            std::vector<std::int64_t> shape{n};
            shape.insert(shape.end(), c.input.begin(), c.input.end());
            // unsigned profiles get a negative range too, so the zero point is not 0
            return at::randn(shape) + (is_signed ? 0.0 : 0.5);
        };
        engine.begin_calibration();
        engine.forward(d, batch(4), w, bias);
        engine.finish_calibration();
        engine.set_assignment(ModelAssignment::uniform(0, 1));
        engine.set_mode(Mode::Profile);
        for (std::int64_t n : {3, 2}) {
            const at::Tensor out = engine.forward(d, batch(n), w, bias);
            if (backward) (out * at::randn(out.sizes())).sum().backward();
        }
    }
};

void expect_rel(double a, double b, const std::string& what) {
    EXPECT_NEAR(a, b, 1e-12 * std::max(std::fabs(b), 1e-300)) << what;
}

TEST(MetricScoring, PluginsAreRegistered) {
    for (const char* n : {"hawx", "error-only", "gradient-only", "ame"}) EXPECT_NO_THROW(load_metric(n)) << n;
    EXPECT_TRUE(load_metric("hawx")->needs_gradients());
    EXPECT_TRUE(load_metric("gradient-only")->needs_gradients());
    EXPECT_FALSE(load_metric("ame")->needs_gradients());
    EXPECT_FALSE(load_metric("error-only")->needs_gradients());
}

TEST(MetricScoring, HawxPluginEqualsTheHistogramRouteAndTheDefinition) {
    const auto metric = load_metric("hawx");
    std::uint64_t seed = 11;
    for (const LayerCase& c : cases())
        for (bool is_signed : {true, false}) {
            OneLayer p(c, is_signed, true, seed++);
            ScoreOptions o;
            o.per_position = true;
            const ScoreTable m = score_with_metric(p.engine.profile(), p.lib, *metric, o);
            const ScoreTable h = score_hawx(p.engine.profile(), p.lib, true);
            const ScoreTable d = score_direct(p.engine.profile(), p.lib);
            const std::string at = c.what + (is_signed ? " signed" : " unsigned");
            ASSERT_EQ(m.inputs, 5) << at;
            ASSERT_EQ(m.s.size(), 1u) << at;
            for (std::size_t b = 0; b < p.lib.size(); ++b) {
                const auto &ms = m.s[0][b], &hs = h.s[0][b], &ds = d.s[0][b];
                const std::string ab = at + " block " + p.lib[b]->name + (b == 4 ? " (other sign)" : "");
                if (b == 4) {  // the other signedness: no scores
                    EXPECT_TRUE(ms.filter_mean.empty()) << ab;
                    EXPECT_TRUE(std::isnan(m.model_mean[b])) << ab;
                    continue;
                }
                ASSERT_EQ(ms.filter_mean.size(), static_cast<std::size_t>(c.layer.out_channels)) << ab;
                ASSERT_EQ(ms.position_mean.size(), hs.position_mean.size()) << ab;
                EXPECT_EQ(ms.operations, hs.operations) << ab;
                for (std::size_t f = 0; f < ms.filter_mean.size(); ++f) {
                    expect_rel(ms.filter_mean[f], hs.filter_mean[f], ab + " filter mean vs histogram");
                    expect_rel(ms.filter_sum[f], hs.filter_sum[f], ab + " filter sum vs histogram");
                    EXPECT_NEAR(ms.filter_sum[f], ds.filter_sum[f], 1e-9 * std::fabs(ds.filter_sum[f])) << ab << " vs definition";
                }
                for (std::size_t i = 0; i < ms.position_mean.size(); ++i) {
                    expect_rel(ms.position_mean[i], hs.position_mean[i], ab + " position mean");
                    EXPECT_NEAR(ms.position_mean[i], ds.position_mean[i], 1e-9 * std::fabs(ds.position_mean[i]) + 1e-300) << ab;
                }
                expect_rel(ms.layer_mean, hs.layer_mean, ab + " layer mean");
                expect_rel(m.model_sum[b], h.model_sum[b], ab + " model sum");
                if (b == 0) EXPECT_EQ(m.model_sum[b], 0.0) << ab;
                else EXPECT_GT(m.model_sum[b], 0.0) << ab;
            }
        }
}

// Per filter of a linear layer: the code pairs (x_{n,k}, w_{f,k}) of every input n and k.
std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> linear_pairs(const Engine& e) {
    std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> out;
    const LayerProfile& r0 = e.profile().front();
    const at::Tensor wc = r0.weights->codes;
    out.resize(static_cast<std::size_t>(wc.size(0)));
    for (const LayerProfile& r : e.profile())
        for (std::int64_t n = 0; n < r.codes.size(0); ++n)
            for (std::int64_t f = 0; f < wc.size(0); ++f)
                for (std::int64_t k = 0; k < wc.size(1); ++k)
                    out[static_cast<std::size_t>(f)].emplace_back(r.codes[n][k].item<std::uint8_t>(),
                                                                  wc[f][k].item<std::uint8_t>());
    return out;
}

double error_of(const CompiledBlock& b, std::uint32_t a, std::uint32_t w) {
    return static_cast<double>(b.lookup(a, w)) -
           static_cast<double>(code_to_value(a, 8, b.is_signed)) * code_to_value(w, 8, b.is_signed);
}

TEST(MetricScoring, MetricsWithoutGradientsNeedNoBackward) {
    const LayerCase c = cases()[2];
    for (bool is_signed : {true, false}) {
        OneLayer p(c, is_signed, false, 5);
        ASSERT_FALSE(p.engine.profile().front().grad().defined());
        EXPECT_THROW(score_with_metric(p.engine.profile(), p.lib, *load_metric("hawx")), Error);
        const ScoreTable ame = score_with_metric(p.engine.profile(), p.lib, *load_metric("ame"));
        const ScoreTable mae = score_with_metric(p.engine.profile(), p.lib, *load_metric("error-only"));
        const auto pairs = linear_pairs(p.engine);
        const LayerProfile& r = p.engine.profile().front();
        const double n = static_cast<double>(c.layer.in_channels);
        for (std::size_t b = 0; b < 4; ++b) {
            const CompiledBlock& blk = *p.lib[b];
            double all = 0;
            for (std::uint32_t i = 0; i < 65536; ++i) all += std::fabs(error_of(blk, i >> 8, i & 255));
            for (std::size_t f = 0; f < pairs.size(); ++f) {
                double s1 = 0, s2 = 0;
                for (auto [a, w] : pairs[f]) {
                    const double e = error_of(blk, a, w);
                    s1 += e, s2 += e * e;
                }
                const double cnt = static_cast<double>(pairs[f].size()), mu = s1 / cnt, var = s2 / cnt - mu * mu;
                const double scale = static_cast<double>(r.act.scale) * r.weights->scale[f];
                const double want = std::sqrt(n * std::max(0.0, var) + n * n * mu * mu) * scale / n;
                EXPECT_NEAR(ame.s[0][b].filter_mean[f], want, 1e-12 * want + 1e-300)
                    << blk.name << " filter " << f << (is_signed ? " signed" : " unsigned");
                EXPECT_NEAR(mae.s[0][b].filter_mean[f], all / 65536, 1e-12 * all / 65536) << blk.name;
            }
        }
        // the constant-error block: AME = 3 * scale exactly (mean 3, variance 0)
        EXPECT_NEAR(ame.s[0][3].filter_mean[0], 3.0 * r.act.scale * r.weights->scale[0], 1e-12);
    }
}

TEST(MetricScoring, DistributionsEqualANaiveSortAndSampleConsistently) {
    const LayerCase c = cases()[2];
    OneLayer p(c, true, true, 21);
    const LayerProfile &r0 = p.engine.profile()[0], &r1 = p.engine.profile()[1];
    const std::size_t F = 5, K = 20;
    const auto rows = score_distributions(p.engine.profile(), p.lib);
    ASSERT_EQ(rows.size(), 8u);  // 4 blocks x (layer, model)
    for (std::size_t b = 1; b < 4; ++b) {
        // naive: hawx(o) for o = (f, k), P = 1, over the 5 inputs
        std::vector<double> v;
        for (std::size_t f = 0; f < F; ++f)
            for (std::size_t k = 0; k < K; ++k) {
                double s = 0;
                for (const LayerProfile* r : {&r0, &r1})
                    for (std::int64_t n = 0; n < r->codes.size(0); ++n)
                        s += std::fabs(r->grad()[n][static_cast<std::int64_t>(f)].item<float>()) *
                             std::fabs(error_of(*p.lib[b], r->codes[n][static_cast<std::int64_t>(k)].item<std::uint8_t>(),
                                                r->weights->codes[static_cast<std::int64_t>(f)][static_cast<std::int64_t>(k)]
                                                    .item<std::uint8_t>()));
                v.push_back(s * r0.act.scale * r0.weights->scale[f] / 5.0);
            }
        std::sort(v.begin(), v.end());
        std::array<double, kDistributionBins> bins{};
        for (double x : v) bins[static_cast<std::size_t>(distribution_bin(x))] += 1;
        for (const auto& row : rows) {
            if (row.block != b) continue;
            EXPECT_EQ(row.operations, 100);
            EXPECT_EQ(row.evaluated, 100);
            EXPECT_FALSE(row.sampled);
            EXPECT_EQ(row.bins, bins) << p.lib[b]->name;
            for (std::size_t q = 0; q < kQuantileLevels.size(); ++q) {
                // smallest value whose cumulative count reaches level * 100
                const std::size_t i = q == 0 ? 0 : static_cast<std::size_t>(std::ceil(kQuantileLevels[q] * 100 - 1e-9)) - 1;
                EXPECT_NEAR(row.quantiles[q], v[i], 1e-12 * v[i]) << p.lib[b]->name << " q" << kQuantileLevels[q];
            }
        }
        // a sample of 37 draws: counts scaled to 100 operations, every quantile one of the values
        DistributionOptions o;
        o.exact_limit = 10;
        o.samples = 37;
        o.seed = 3;
        for (const auto& row : score_distributions(p.engine.profile(), p.lib, o)) {
            if (row.block != b || row.layer != 1) continue;
            EXPECT_TRUE(row.sampled);
            EXPECT_EQ(row.evaluated, 37);
            double total = 0;
            for (double x : row.bins) total += x;
            EXPECT_NEAR(total, 100.0, 1e-9);
            for (double q : row.quantiles)
                EXPECT_TRUE(std::any_of(v.begin(), v.end(), [&](double x) { return std::fabs(x - q) <= 1e-12 * x; })) << q;
        }
    }
    // bin edges: exactly on an edge belongs to the bin above
    EXPECT_EQ(distribution_bin(0.0), 0);
    EXPECT_EQ(distribution_bin(1e-13), 1);
    EXPECT_EQ(distribution_bin(log_bin_edge(0)), 2);
    EXPECT_EQ(distribution_bin(1.0), 2 + 48);
    EXPECT_EQ(distribution_bin(std::nextafter(1.0, 0.0)), 2 + 47);
    EXPECT_EQ(distribution_bin(100.0), kDistributionBins - 1);
}

}  // namespace
