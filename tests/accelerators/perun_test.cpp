#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "hawx/accelerators/perun.hpp"
#include "test_util.hpp"

using namespace hawx;
using namespace hawx::test;
using hawx::accelerators::Perun;
using S = std::string;

namespace {
std::vector<std::string> ab_names() { return {"A", "B", "C"}; }
std::vector<HardwareCost> ab_costs() { return {cost(1.0, 10.0, 1.0), cost(0.5, 4.0, 1.0), cost(0.8, 8.0, 1.0)}; }
}  // namespace

TEST(Perun, HandComputedSchedule) {
    // One CV of 4 LIDs. Layer 1: 6 filters x (25 x 4) = 100 cycles each, filters 4, 5 on B;
    // layer 2: 4 filters x (10 x 1) = 10 cycles, all on A.
    // MACs by block: A 4*100 + 4*10 = 440, B 200. LIDs: one each, then A (440 > 200),
    // then A (440/2 = 220 > 200) -> A 3, B 1.
    // Layer 1: A ceil(4/3)*100 = 200, B ceil(2/1)*100 = 200 -> 200. Layer 2: ceil(4/3)*10 = 20.
    // Makespan 220; utilization 640 / (4 * 220).
    const std::vector<LayerShape> layers = {{"l1", "conv2d", 6, 25, 4}, {"l2", "linear", 4, 10, 1}};
    Configuration c;
    c.granularity = Granularity::Filter;
    c.blocks = {{0, 0, 0, 0, 1, 1}, {0, 0, 0, 0}};
    const Perun perun = make<Perun>({{"compute_vectors", std::int64_t{1}}, {"lids", std::int64_t{4}}});
    const auto p = perun.plan(layers, c, ab_names(), ab_costs());
    ASSERT_EQ(p.groups.size(), 1u);
    EXPECT_EQ(p.groups[0].lids.at(0), 3);
    EXPECT_EQ(p.groups[0].lids.at(1), 1);
    EXPECT_EQ(p.groups[0].layer_cycles, (std::vector<std::int64_t>{200, 20}));
    EXPECT_EQ(p.lid_block, (std::vector<std::vector<int>>{{0, 0, 0, 1}}));
    const auto r = perun.evaluate(layers, c, ab_names(), ab_costs());
    EXPECT_EQ(r.latency_cycles, 220);
    EXPECT_NEAR(r.utilization, 640.0 / (4 * 220.0), 1e-12);
    EXPECT_NEAR(r.power_mw, 3 * 1.0 + 0.5, 1e-12);
    EXPECT_NEAR(r.area_um2, 3 * 10.0 + 4.0, 1e-12);
    EXPECT_NEAR(accelerators::normalized_power(r), 3.5 / 4.0, 1e-12);
    EXPECT_NEAR(accelerators::normalized_area(r), 34.0 / 40.0, 1e-12);
    EXPECT_TRUE(r.changes.empty());
    EXPECT_EQ(r.realized.blocks, c.blocks);
}

TEST(Perun, MergesTheLeastUsedBlockIntoTheClosest) {
    // Two LIDs, three blocks: B is least used (layer 2, 10 MACs) and closer in cost to C
    // than to A (|0.3|/1 + |4|/10 = 0.7 < |0.5| + |6|/10 = 1.1), so B -> C.
    const std::vector<LayerShape> layers = {
        {"l1", "linear", 2, 50, 1}, {"l2", "linear", 1, 10, 1}, {"l3", "linear", 1, 30, 1}};
    Configuration c;
    c.granularity = Granularity::Layer;
    c.blocks = {{0}, {1}, {2}};
    const Perun perun = make<Perun>({{"lids", std::int64_t{2}}});
    const auto r = perun.evaluate(layers, c, ab_names(), ab_costs());
    EXPECT_EQ(r.realized.blocks, (std::vector<std::vector<int>>{{0}, {2}, {2}}));
    ASSERT_EQ(r.changes.size(), 1u);
    EXPECT_EQ(r.changes[0],
              "group 1 (layers 1-3, CVs 1): 3 block types for 2 LIDs; B (least used, 10 MACs, 1 work-items) merged "
              "into C, the closest in power and area");
    // LIDs A, C: layer 1 two 50-cycle filters on one A LID = 100, layer 2 10, layer 3 30.
    EXPECT_EQ(r.latency_cycles, 140);
    EXPECT_NEAR(r.power_mw, 1.0 + 0.8, 1e-12);
}

TEST(Perun, OperationLevelBecomesFilterLevel) {
    const std::vector<LayerShape> layers = {{"l1", "linear", 2, 3, 1}};
    Configuration c;
    c.granularity = Granularity::Operation;
    c.blocks = {{0, 1, 1, 0, 0, 1}};  // filter 0: B majority; filter 1: A majority
    const auto r = make<Perun>({{"lids", std::int64_t{2}}}).evaluate(layers, c, ab_names(), ab_costs());
    EXPECT_EQ(r.realized.granularity, Granularity::Filter);
    EXPECT_EQ(r.realized.blocks, (std::vector<std::vector<int>>{{1, 0}}));
    ASSERT_EQ(r.changes.size(), 1u);
    EXPECT_EQ(r.changes[0],
              "layer 1 (l1): 2 of 2 filters mixed blocks over weight positions; a work-item runs on one LID, so "
              "each takes its majority block (2 weight positions changed)");
}

// At operation level a filter's weight positions are one group (one work-item, one LID).
TEST(Perun, UnitGroupsAtOperationLevelAreFilters) {
    const std::vector<LayerShape> layers = {{"l1", "linear", 2, 3, 1}};
    const Perun p = make<Perun>({{"lids", std::int64_t{2}}});
    EXPECT_EQ(p.unit_groups(layers, Granularity::Operation), (std::vector<std::vector<std::int64_t>>{{0, 0, 0, 1, 1, 1}}));
    EXPECT_TRUE(p.unit_groups(layers, Granularity::Filter).empty());
    Configuration c;
    c.granularity = Granularity::Operation;
    c.blocks = {{1, 1, 1, 0, 0, 0}};  // uniform inside each group: run as asked
    const auto r = p.evaluate(layers, c, ab_names(), ab_costs());
    EXPECT_EQ(r.realized.blocks, (std::vector<std::vector<int>>{{1, 0}}));
    EXPECT_TRUE(r.changes.empty());
}

TEST(Perun, Vgg11OnEightCvsGroupsLayersOptimally) {
    // Paper: eight CVs for VGG-11. The grouping must minimize the largest group's MACs over
    // every contiguous cut of 11 layers into 8 groups (brute force over the 120 cuts).
    const auto layers = vgg11();
    std::vector<std::int64_t> w;
    for (const auto& s : layers) w.push_back(s.out_channels * s.fan_in * s.output_positions);
    std::int64_t best = std::numeric_limits<std::int64_t>::max();
    for (unsigned mask = 0; mask < (1u << 10); ++mask) {  // bit i: a cut after layer i
        if (__builtin_popcount(mask) != 7) continue;
        std::int64_t part = 0, worst = 0;
        for (std::size_t l = 0; l < 11; ++l) {
            part += w[l];
            if (l == 10 || (mask >> l & 1u)) {
                worst = std::max(worst, part);
                part = 0;
            }
        }
        best = std::min(best, worst);
    }
    const Perun perun = make<Perun>({{"compute_vectors", std::int64_t{8}}, {"lids", std::int64_t{16}}});
    const auto p = perun.plan(layers, all_layers(11, L2N), paper_names(), paper_costs());
    ASSERT_EQ(p.groups.size(), 8u);
    std::int64_t worst = 0;
    for (const auto& g : p.groups) {
        std::int64_t sum = 0;
        for (std::size_t l = g.first_layer; l <= g.last_layer; ++l) sum += w[l];
        worst = std::max(worst, sum);
    }
    EXPECT_EQ(worst, best);
    EXPECT_EQ(p.lid_block.size(), 8u);
    // Single-block designs normalize to the block ratios (Table II, 1-11:L2N would give these).
    const auto r = perun.evaluate(layers, all_layers(11, L2N), paper_names(), paper_costs());
    EXPECT_NEAR(accelerators::normalized_power(r), 0.126 / 0.425, 1e-12);
    EXPECT_NEAR(accelerators::normalized_area(r), 284.9 / 729.8, 1e-12);
    EXPECT_NEAR(r.power_mw, 8 * 16 * 0.126, 1e-9);
}

TEST(Perun, SpareCvsGoToTheBusiestGroup) {
    // 2 layers, 3 CVs: each layer gets a CV, the spare goes to layer 1 (400 MACs vs 100).
    const std::vector<LayerShape> layers = {{"a", "linear", 4, 100, 1}, {"b", "linear", 1, 100, 1}};
    const auto p = make<Perun>({{"compute_vectors", std::int64_t{3}}, {"lids", std::int64_t{1}}})
                       .plan(layers, all_layers(2, 0), ab_names(), ab_costs());
    ASSERT_EQ(p.groups.size(), 2u);
    EXPECT_EQ(p.groups[0].cvs, 2);
    EXPECT_EQ(p.groups[1].cvs, 1);
    EXPECT_EQ(p.groups[0].cycles, 200);  // 4 filters of 100 on 2 LIDs
    EXPECT_EQ(p.interval_cycles, 200);
    EXPECT_EQ(p.latency_cycles, 300);
}
