// HAWX scores: the histogram route equals the operation-by-operation definition, exact blocks
// score zero, and a block with a constant error has the closed-form score.
#include <gtest/gtest.h>

#include <hawx/blocks/drum_mul.hpp>
#include <hawx/blocks/exact_add.hpp>
#include <hawx/blocks/loa_add.hpp>
#include <hawx/framework/mac_block.hpp>
#include <hawx/blocks/truncated_mul.hpp>
#include <hawx/engine/engine.hpp>
#include <hawx/engine/scoring.hpp>

#include <mutex>

#include "../blocks/block_test_util.hpp"

using namespace hawx;
using namespace hawx::engine;
using hawx::test::P;

namespace {

LayerDesc conv_layer() {
    LayerDesc l;
    l.index = 1;
    l.in_channels = 2;
    l.out_channels = 3;
    l.kernel = {3, 3};
    l.stride = {2, 2};
    l.padding = {1, 1};
    return l;
}
LayerDesc fc_layer() {
    LayerDesc l;
    l.index = 2;
    l.linear = true;
    l.in_channels = 3 * 4 * 4;
    l.out_channels = 4;
    return l;
}

BlockLibrary library() {
    std::vector<std::int32_t> plus3(65536);
    for (std::uint32_t a = 0; a < 256; ++a)
        for (std::uint32_t w = 0; w < 256; ++w) plus3[(a << 8) | w] = code_to_value(a, 8, true) * code_to_value(w, 8, true) + 3;
    return {exact_block(true), compile_block(P<blocks::TruncatedMul>().i("k", 5).make(), "T5"),
            compile_block(P<blocks::DrumMul>().i("k", 3).make(), "DRUM3"), compile_table(plus3, true, "PLUS3"),
            exact_block(false)};
}

// Two profiled batches of a conv -> ReLU -> linear network, after backward.
struct Profiled {
    BlockLibrary lib = library();
    Engine engine{lib};
    at::Tensor w1 = at::randn({3, 2, 3, 3}) * 0.4, b1 = at::randn({3}) * 0.1;
    at::Tensor w2 = at::randn({4, 48}) * 0.2, b2 = at::randn({4}) * 0.1;
    Profiled() {
        at::manual_seed(9);
        w1 = at::randn({3, 2, 3, 3}) * 0.4, w2 = at::randn({4, 48}) * 0.2;
        const auto run = [&](const at::Tensor& x) {
            return engine.forward(fc_layer(), at::relu(engine.forward(conv_layer(), x, w1, b1)).flatten(1), w2, b2);
        };
        engine.begin_calibration();
        run(at::randn({6, 2, 8, 8}));
        engine.finish_calibration();
        engine.set_assignment(ModelAssignment::uniform(0, 2));
        engine.set_mode(Mode::Profile);
        for (int batch = 0; batch < 2; ++batch) {
            const at::Tensor out = run(at::randn({3, 2, 8, 8}));
            at::cross_entropy_loss(out, at::randint(0, 4, {3}, at::kLong)).backward();
        }
    }
};

void expect_close(double a, double b, const std::string& what) {
    EXPECT_NEAR(a, b, 1e-9 * std::max(1.0, std::fabs(b))) << what;
}

TEST(Scoring, HistogramRouteEqualsTheDefinition) {
    Profiled p;
    ASSERT_EQ(p.engine.profile().size(), 4u);
    const ScoreTable fast = score_hawx(p.engine.profile(), p.lib, true);
    const ScoreTable ref = score_direct(p.engine.profile(), p.lib);
    EXPECT_EQ(fast.inputs, 6);
    ASSERT_EQ(fast.s.size(), 2u);
    for (std::size_t l = 0; l < 2; ++l)
        for (std::size_t b = 0; b < 4; ++b) {
            const auto &f = fast.s[l][b], &r = ref.s[l][b];
            const std::string at = "layer " + std::to_string(l + 1) + " block " + p.lib[b]->name;
            ASSERT_EQ(f.filter_sum.size(), r.filter_sum.size()) << at;
            for (std::size_t i = 0; i < f.filter_sum.size(); ++i) {
                expect_close(f.filter_sum[i], r.filter_sum[i], at + " filter sum");
                expect_close(f.filter_mean[i], r.filter_mean[i], at + " filter mean");
            }
            for (std::size_t i = 0; i < f.position_mean.size(); ++i)
                expect_close(f.position_mean[i], r.position_mean[i], at + " position mean");
            expect_close(f.layer_mean, r.layer_mean, at + " layer mean");
            EXPECT_EQ(f.operations, l == 0 ? 3 * 16 * 18 : 4 * 48) << at;
        }
    for (std::size_t b = 0; b < 4; ++b) expect_close(fast.model_sum[b], ref.model_sum[b], "model sum");
    // the exact block scores zero; an unsigned block cannot be scored on a signed profile
    EXPECT_EQ(fast.model_sum[0], 0.0);
    EXPECT_GT(fast.model_sum[1], 0.0);
    EXPECT_TRUE(std::isnan(fast.model_mean[4]));
}

TEST(Scoring, ConstantErrorHasTheClosedFormScore) {
    Profiled p;
    const ScoreTable t = score_hawx(p.engine.profile(), p.lib);
    // |E| = 3 everywhere: filter sum = 3 * s_a * s_w[f] * K * sum_{n,p} |dL/dy_{n,f,p}| / N.
    for (const LayerProfile* rec : {&p.engine.profile()[0], &p.engine.profile()[1]}) {
        const int l = rec->layer.index - 1;
        double grad_sum = 0;
        std::vector<double> per_filter(static_cast<std::size_t>(rec->layer.out_channels), 0);
        for (const auto& r : p.engine.profile())
            if (r.layer.index == rec->layer.index) {
                const at::Tensor g = r.grad().abs().to(at::kDouble).reshape({r.grad().size(0), r.grad().size(1), -1});
                const at::Tensor s = g.sum(at::IntArrayRef{0, 2});
                for (std::size_t f = 0; f < per_filter.size(); ++f) per_filter[f] += s[static_cast<std::int64_t>(f)].item<double>();
            }
        for (std::size_t f = 0; f < per_filter.size(); ++f) {
            const double want = 3.0 * rec->act.scale * rec->weights->scale[f] * rec->layer.fan_in() * per_filter[f] / 6.0;
            expect_close(t.s[static_cast<std::size_t>(l)][3].filter_sum[f], want, "closed form");
            grad_sum += per_filter[f];
        }
        EXPECT_GT(grad_sum, 0);
    }
}

// A metric that checks the UnitProfile the engine builds and returns sum(counts) / operations
// (1 when counts are right), recording the filter units' fields for the test.
class ProbeMetric final : public SensitivityMetric {
public:
    bool needs_gradients() const override { return true; }
    double score(const ApproxBlock& block, const std::vector<std::int32_t>& table, const UnitProfile& u) const override {
        EXPECT_EQ(table.size(), 65536u);
        EXPECT_EQ(block.is_signed(), u.is_signed);
        EXPECT_EQ(block_table(block), table);  // the view's table is the compiled one
        double c = 0, g = 0;
        std::size_t nonzero = 0;
        for (std::uint32_t i = 0; i < 65536; ++i) nonzero += u.counts[i] > 0;
        EXPECT_EQ(nonzero, u.support_size);
        for (std::size_t i = 0; i < u.support_size; ++i) {
            if (i > 0) EXPECT_LT(u.support[i - 1], u.support[i]);
            c += u.counts[u.support[i]];
            g += u.grad_weighted[u.support[i]];
        }
        std::lock_guard<std::mutex> lock(m);
        seen.push_back({u.output_scale, g, static_cast<double>(u.operations), static_cast<double>(u.fan_in)});
        return c / static_cast<double>(u.operations);
    }
    mutable std::mutex m;
    mutable std::vector<std::array<double, 4>> seen;  // scale, sum grad_weighted, operations, fan_in
};

TEST(Scoring, MetricRouteBuildsTheDocumentedUnitProfiles) {
    Profiled p;
    ProbeMetric probe;
    ScoreOptions o;
    o.per_position = true;
    const ScoreTable t = score_with_metric(p.engine.profile(), p.lib, probe, o);
    // counts average to one multiplication per operation in every unit, every block
    for (std::size_t l = 0; l < 2; ++l)
        for (std::size_t b = 0; b < 4; ++b) {
            for (double v : t.s[l][b].filter_mean) EXPECT_NEAR(v, 1.0, 1e-12);
            for (double v : t.s[l][b].position_mean) EXPECT_NEAR(v, 1.0, 1e-12);
            EXPECT_NEAR(t.s[l][b].layer_mean, 1.0, 1e-12);
            EXPECT_NEAR(t.model_mean[b], 1.0, 1e-12);
            EXPECT_NEAR(t.model_sum[b], static_cast<double>(3 * 16 * 18 + 4 * 48), 1e-6);
        }
    EXPECT_TRUE(std::isnan(t.model_mean[4]));
    // filter units: operations P*K, fan_in K, scale s_a*s_w[f], grad_weighted summing to
    // K * sum_{n,p} |dL/dy_{n,f,p}| / N
    for (const LayerProfile* rec : {&p.engine.profile()[0], &p.engine.profile()[1]}) {
        const std::int64_t K = rec->layer.fan_in();
        std::vector<double> per_filter(static_cast<std::size_t>(rec->layer.out_channels), 0);
        std::int64_t P = 1;
        for (const auto& r : p.engine.profile())
            if (r.layer.index == rec->layer.index) {
                const at::Tensor g = r.grad().abs().to(at::kDouble).reshape({r.grad().size(0), r.grad().size(1), -1});
                P = g.size(2);
                const at::Tensor s = g.sum(at::IntArrayRef{0, 2});
                for (std::size_t f = 0; f < per_filter.size(); ++f) per_filter[f] += s[static_cast<std::int64_t>(f)].item<double>();
            }
        for (std::size_t f = 0; f < per_filter.size(); ++f) {
            const double scale = static_cast<double>(rec->act.scale) * rec->weights->scale[f];
            const double want = static_cast<double>(K) * per_filter[f] / 6.0;
            bool found = false;
            for (const auto& s : probe.seen)
                found = found || (s[0] == scale && s[2] == static_cast<double>(P * K) && s[3] == static_cast<double>(K) &&
                                  std::fabs(s[1] - want) <= 1e-9 * want);
            EXPECT_TRUE(found) << "layer " << rec->layer.index << " filter " << f;
        }
    }
}

}  // namespace

TEST(Scoring, AMacBlocksAdderAddsItsAccumulatedOutputError) {
    // hawx(adder) = |dL/dy| * |y(products through the adder) - y(products summed)| * s_a * s_w[f],
    // computed here with the naive reference kernel; an exact adder adds nothing.
    Profiled p;
    auto t5 = std::make_shared<blocks::TruncatedMul>(P<blocks::TruncatedMul>().i("k", 5).get());
    auto exact = std::make_shared<blocks::ExactAdd>(P<blocks::ExactAdd>().i("bits", 24).get());
    auto loa = std::make_shared<blocks::LoaAdd>(P<blocks::LoaAdd>().i("bits", 24).i("k", 8).s("overflow", "wrap").get());
    const BlockLibrary lib{compile_block(*t5, "T5"), compile_block(MacBlock(t5, "T5", exact, "A", {1}), "T5A"),
                           compile_block(MacBlock(t5, "T5", loa, "L", {3}), "T5L")};
    const auto& records = p.engine.profile();
    const ScoreTable fast = score_hawx(records, lib), direct = score_direct(records, lib);
    bool some = false;
    for (std::size_t li = 0; li < fast.layers.size(); ++li) {
        const std::int64_t F = fast.layers[li].out_channels;
        std::vector<double> add(static_cast<std::size_t>(F), 0.0);
        for (const auto& r : records) {
            if (r.layer.index != fast.layers[li].index) continue;
            const LayerAssignment a{Granularity::Layer, {0}};
            const at::Tensor d = (reference_accumulate(r.layer, *r.weights, r.act.zero, {lib[2]}, a, r.codes) -
                                  reference_accumulate(r.layer, *r.weights, r.act.zero, {lib[0]}, a, r.codes))
                                     .to(at::kDouble)
                                     .abs();
            const at::Tensor g = r.grad().to(at::kDouble).abs().reshape(d.sizes());
            for (std::int64_t f = 0; f < F; ++f)
                add[static_cast<std::size_t>(f)] += (d.select(1, f) * g.select(1, f)).sum().item<double>() * r.act.scale *
                                                    r.weights->scale[static_cast<std::size_t>(f)];
        }
        for (std::int64_t f = 0; f < F; ++f) {
            const std::size_t fi = static_cast<std::size_t>(f);
            const std::string what = "layer " + std::to_string(li) + " filter " + std::to_string(f);
            expect_close(fast.s[li][1].filter_sum[fi], fast.s[li][0].filter_sum[fi], what + " exact adder");
            const double want = fast.s[li][0].filter_sum[fi] + add[fi] / static_cast<double>(fast.inputs);
            expect_close(fast.s[li][2].filter_sum[fi], want, what);
            expect_close(direct.s[li][2].filter_sum[fi], want, what + " (direct)");
            some = some || add[fi] > 0;
        }
    }
    EXPECT_TRUE(some) << "the LOA adder never erred: the test would not tell";
    EXPECT_GT(fast.model_sum[2], fast.model_sum[0]);
}
