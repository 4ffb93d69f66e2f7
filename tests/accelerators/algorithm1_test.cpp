#include <gtest/gtest.h>

#include "hawx/accelerators/algorithm1.hpp"
#include "test_util.hpp"

#include <cmath>

#include <hawx/sdk/search.hpp>

using namespace hawx;
using namespace hawx::test;
using hawx::accelerators::Algorithm1;
using S = std::string;

TEST(Algorithm1, TableIIRatiosOfThePaperBlocks) {
    // Table II rows with one block on every layer: LeNet-5 1-5:L2N 0.296/0.390, 1-5:KV9
    // 0.965/0.939, EfficientNet 1-47:KV8 0.993/0.974; and the baseline 1.000/1.000.
    const auto names = paper_names();
    const auto costs = paper_costs();
    struct Row { int block; double pwr, area; };
    for (const Row row : {Row{L2N, 0.296, 0.390}, Row{KV9, 0.965, 0.939}, Row{KV8, 0.993, 0.974}, Row{KV6, 1, 1}})
        for (const char* count : {"units", "operations"})
            for (const auto& layers : {lenet5(), vgg11()}) {
                const auto r = make<Algorithm1>({{"count", S(count)}})
                                   .evaluate(layers, all_layers(layers.size(), row.block), names, costs);
                EXPECT_NEAR(accelerators::normalized_power(r), row.pwr, 0.0005) << names[row.block];
                EXPECT_NEAR(accelerators::normalized_area(r), row.area, 0.0005) << names[row.block];
            }
    // The other paper blocks, whose all-layer ratios Table II does not list, give their figure
    // ratios: KVP 0.363/0.425, L2J 0.301/0.425.
    for (int b : {KVP, L2J}) {
        const auto r = make<Algorithm1>().evaluate(lenet5(), all_layers(5, b), names, costs);
        EXPECT_NEAR(accelerators::normalized_power(r), costs[b].power_mw / 0.425, 1e-12);
        EXPECT_NEAR(accelerators::normalized_area(r), costs[b].area_um2 / 729.8, 1e-12);
    }
}

TEST(Algorithm1, CountsBlocksPerLayerAndGroup) {
    // Filter level, count = units: conv1 (6 filters) half KV6 half L2N, everything else KV9.
    const auto layers = lenet5();
    Configuration c;
    c.granularity = Granularity::Filter;
    for (const auto& s : layers) c.blocks.emplace_back(static_cast<std::size_t>(s.out_channels), KV9);
    c.blocks[0] = {KV6, KV6, KV6, L2N, L2N, L2N};
    const auto r = make<Algorithm1>().evaluate(layers, c, paper_names(), paper_costs());
    const double kv9 = 16 + 120 + 84 + 10;
    EXPECT_NEAR(r.power_mw, 3 * 0.425 + 3 * 0.126 + kv9 * 0.410, 1e-9);
    EXPECT_NEAR(r.per_group_power_mw.at("conv1"), 3 * 0.425 + 3 * 0.126, 1e-12);
    EXPECT_NEAR(r.exact_power_mw, 236 * 0.425, 1e-9);
    EXPECT_EQ(r.realized.blocks, c.blocks);

    // Operations: conv1 filters do 25 x 784 MACs each.
    const auto o = make<Algorithm1>({{"count", S("operations")}}).evaluate(layers, c, paper_names(), paper_costs());
    EXPECT_NEAR(o.per_group_area_um2.at("conv1"), 3 * 19600 * (729.8 + 284.9), 1e-6);

    // Temporal grouping (2 CVs): layer l goes to group floor(l * 2 / 5): layers 1-3 and 4-5;
    // totals unchanged.
    const auto t = make<Algorithm1>({{"compute_vectors", std::int64_t{2}}}).evaluate(layers, c, paper_names(),
                                                                                      paper_costs());
    EXPECT_NEAR(t.power_mw, r.power_mw, 1e-12);
    EXPECT_NEAR(t.per_group_power_mw.at("group 1"), 3 * 0.425 + 3 * 0.126 + (16 + 120) * 0.410, 1e-12);
    EXPECT_NEAR(t.per_group_power_mw.at("group 2"), (84 + 10) * 0.410, 1e-12);
}

// One name, one meaning (issue 15): the pipeline's cost without accelerators (the SDK's
// configuration_cost, reported as "weights") is accelerators.algorithm1 with count = weights,
// at every granularity, on mixed configurations.
TEST(Algorithm1, CountWeightsIsTheSdkConfigurationCost) {
    const auto names = paper_names();
    const auto costs = paper_costs();
    for (const auto& layers : {lenet5(), vgg11()}) {
        SearchProblem p;
        p.layers = layers;
        p.block_costs = costs;
        for (Granularity g : {Granularity::Layer, Granularity::Filter, Granularity::Operation}) {
            Configuration c;
            c.granularity = g;
            int k = 0;
            for (const auto& s : layers) {
                std::vector<int> units(static_cast<std::size_t>(unit_count(s, g)));
                for (auto& u : units) u = (k++ * 7 + 3) % static_cast<int>(names.size());
                c.blocks.push_back(units);
            }
            const auto r = make<Algorithm1>({{"count", S("weights")}}).evaluate(layers, c, names, costs);
            const Outcome o = configuration_cost(p, c);
            EXPECT_NEAR(r.power_mw, *o.power_mw, 1e-9 * *o.power_mw) << to_string(g);
            EXPECT_NEAR(r.area_um2, *o.area_um2, 1e-9 * *o.area_um2) << to_string(g);
            // and it is not what count = units (the paper's Algorithm 1) gives
            const auto u = make<Algorithm1>().evaluate(layers, c, names, costs);
            if (g != Granularity::Operation) EXPECT_GT(std::fabs(u.power_mw - r.power_mw), 1e-6) << to_string(g);
        }
    }
}
