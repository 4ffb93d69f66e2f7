#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "hawx/accelerators/dataflow.hpp"
#include "test_util.hpp"

using namespace hawx;
using namespace hawx::test;
using hawx::accelerators::Dataflow;
using S = std::string;

namespace {

// LeNet-5 folding worked out by hand (docs/accelerators.md):
//   conv1 PE 3 SIMD 5:  (6/3)*(25/5)*784  = 7840
//   conv2 PE 4 SIMD 15: (16/4)*(150/15)*100 = 4000
//   fc1   PE 8 SIMD 10: (120/8)*(400/10)   = 600
//   fc2   PE 4 SIMD 6:  (84/4)*(120/6)     = 420
//   fc3   PE 2 SIMD 4:  (10/2)*(84/4)      = 105
Dataflow lenet_engine(std::map<std::string, ParamValue> extra = {}) {
    extra["pe"] = S("3,4,8,4,2");
    extra["simd"] = S("5,15,10,6,4");
    return make<Dataflow>(extra);
}

const char* kVggPe = "16,32,32,32,32,32,16,16,8,8,2";
const char* kVggSimd = "27,32,32,32,32,32,32,32,16,16,16";

}  // namespace

TEST(Dataflow, LeNet5ClosedFormCycles) {
    const auto f = lenet_engine().fold(lenet5());
    const std::vector<std::int64_t> cycles = {7840, 4000, 600, 420, 105};
    ASSERT_EQ(f.size(), 5u);
    for (std::size_t l = 0; l < 5; ++l) EXPECT_EQ(f[l].cycles, cycles[l]) << l;
    const auto r = lenet_engine().evaluate(lenet5(), all_layers(5, KV6), paper_names(), paper_costs());
    EXPECT_EQ(r.latency_cycles, 7840);  // the slowest layer sets the interval
    // 3*5 + 4*15 + 8*10 + 4*6 + 2*4 = 187 multipliers, all KV6.
    EXPECT_NEAR(r.power_mw, 187 * 0.425, 1e-9);
    EXPECT_NEAR(r.area_um2, 187 * 729.8, 1e-6);
    // MACs 117600 + 240000 + 48000 + 10080 + 840 = 416520 over 187 multipliers x 7840 cycles.
    EXPECT_NEAR(r.utilization, 416520.0 / (187.0 * 7840.0), 1e-12);
    // Energy per inference: 79.475 mW for 7840 cycles at 100 MHz (78.4 us) = 6230.84 nJ.
    EXPECT_NEAR(r.energy_nj, 187 * 0.425 * 78400.0 / 1000.0, 1e-6);
    EXPECT_NEAR(r.per_group_area_um2.at("conv2"), 60 * 729.8, 1e-6);
    EXPECT_TRUE(r.changes.empty());
}

TEST(Dataflow, TableIINormalizationLeNetAndVgg) {
    // Table II: 1-5:L2N 0.296 / 0.390; 1-5:KV9 (and ResNet-18 1-21:KV9) 0.965 / 0.939;
    // EfficientNet 1-47:KV8 0.993 / 0.974. Whole-network single-block designs reduce to the
    // ratio of the block figures whatever the folding.
    struct Row { int block; double pwr, area; };
    const Row rows[] = {{L2N, 0.296, 0.390}, {KV9, 0.965, 0.939}, {KV8, 0.993, 0.974}, {KV6, 1.0, 1.0}};
    const auto names = paper_names();
    const auto costs = paper_costs();
    const Dataflow vgg = make<Dataflow>({{"pe", S(kVggPe)}, {"simd", S(kVggSimd)}});
    for (const auto& row : rows) {
        for (int net = 0; net < 2; ++net) {
            const auto layers = net == 0 ? lenet5() : vgg11();
            const auto r = (net == 0 ? lenet_engine() : vgg).evaluate(layers, all_layers(layers.size(), row.block),
                                                                       names, costs);
            const double p = accelerators::normalized_power(r), a = accelerators::normalized_area(r);
            EXPECT_NEAR(p, row.pwr, 0.0005) << names[row.block];
            EXPECT_NEAR(a, row.area, 0.0005) << names[row.block];
            EXPECT_NEAR(p, costs[row.block].power_mw / 0.425, 1e-12);
            EXPECT_NEAR(a, costs[row.block].area_um2 / 729.8, 1e-12);
        }
    }
}

TEST(Dataflow, MixedLayersWeightByInstances) {
    // 1-4:KVP 5:L2J on the hand folding: 179 KVP multipliers and 8 L2J (fc3 PE 2 x SIMD 4).
    Configuration c = all_layers(5, KVP);
    c.blocks[4][0] = L2J;
    const auto r = lenet_engine().evaluate(lenet5(), c, paper_names(), paper_costs());
    EXPECT_NEAR(r.power_mw, 179 * 0.363 + 8 * 0.301, 1e-9);
    EXPECT_NEAR(r.per_block_area_um2.at("L2J"), 8 * 558.9, 1e-9);
    EXPECT_NEAR(accelerators::normalized_power(r), (179 * 0.363 + 8 * 0.301) / (187 * 0.425), 1e-12);
}

TEST(Dataflow, LogicOverheadAndActivityPower) {
    const auto r = lenet_engine({{"pe_logic_area_um2", 100.0}, {"layer_logic_power_mw", 1.0}})
                       .evaluate(lenet5(), all_layers(5, L2N), paper_names(), paper_costs());
    // 21 PEs (3+4+8+4+2) x 100 um2; 5 layers x 1 mW, in the design and in its exact twin.
    EXPECT_NEAR(r.area_um2, 187 * 284.9 + 2100, 1e-6);
    EXPECT_NEAR(r.power_mw, 187 * 0.126 + 5, 1e-9);
    EXPECT_NEAR(accelerators::normalized_area(r), (187 * 284.9 + 2100) / (187 * 729.8 + 2100), 1e-12);

    // Activity: 416520 MACs x 0.425 mW x 1.48 ns per MAC over 78400 ns.
    const auto a = lenet_engine({{"power_model", S("activity")}})
                       .evaluate(lenet5(), all_layers(5, KV6), paper_names(), paper_costs());
    EXPECT_NEAR(a.power_mw, 416520 * 0.425 * 1.48 / 78400.0, 1e-9);
    EXPECT_NEAR(a.energy_nj, 416520 * 0.425 * 1.48 / 1000.0, 1e-9);
    auto costs = paper_costs();
    costs[L2N].delay_ns = 0;
    EXPECT_EQ(error_of([&] {
                  lenet_engine({{"power_model", S("activity")}}).evaluate(lenet5(), all_layers(5, L2N), paper_names(),
                                                                         costs);
              }),
              "dataflow: block L2N has neither energy per operation nor delay, needed by power_model = \"activity\"");
}

TEST(Dataflow, FinnDivisibilityErrors) {
    EXPECT_EQ(error_of([] { make<Dataflow>({{"pe", S("4")}, {"simd", S("1")}}).fold(lenet5()); }),
              "dataflow: layer 1 (conv1): out_channels 6 is not divisible by pe 4");
    EXPECT_EQ(error_of([] { make<Dataflow>({{"pe", S("2")}, {"simd", S("5,7,1,1,1")}}).fold(lenet5()); }),
              "dataflow: layer 2 (conv2): fan_in 150 is not divisible by simd 7");
    EXPECT_EQ(error_of([] { make<Dataflow>({{"pe", S("1,2")}}).fold(lenet5()); }),
              "dataflow: 'pe' lists 2 values but the network has 5 layers (give one value or one per layer)");
    EXPECT_EQ(error_of([] { make<Dataflow>({{"simd", S("1,x")}}).fold(lenet5()); }),
              "dataflow: 'simd' must be positive integers separated by commas, got \"1,x\"");
    EXPECT_EQ(error_of([] {
                  make<Dataflow>({{"exact", S("KV7")}}).evaluate(lenet5(), all_layers(5, 0), paper_names(),
                                                                 paper_costs());
              }),
              "dataflow: exact block 'KV7' is not among the experiment's blocks (KV6, KV8, KV9, KVP, L2J, L2N)");
}

TEST(Dataflow, TargetFpsFoldingIsTheSmallestThatMeetsTheBudget) {
    const double clock = 100.0, fps = 10000.0;  // 10000 cycles per inference
    const auto layers = lenet5();
    const auto f = make<Dataflow>({{"folding", S("target_fps")}, {"target_fps", fps}, {"clock_mhz", clock}}).fold(layers);
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const auto& s = layers[l];
        // Naive reference: every (PE, SIMD) pair, smallest PE*SIMD meeting the budget.
        std::int64_t best = -1;
        for (std::int64_t pe = 1; pe <= s.out_channels; ++pe)
            for (std::int64_t simd = 1; simd <= s.fan_in; ++simd) {
                if (s.out_channels % pe || s.fan_in % simd) continue;
                if ((s.out_channels / pe) * (s.fan_in / simd) * s.output_positions > 10000) continue;
                if (best < 0 || pe * simd < best) best = pe * simd;
            }
        EXPECT_EQ(f[l].pe * f[l].simd, best) << s.name;
        EXPECT_LE(f[l].cycles, 10000);
    }
    EXPECT_EQ(f[0].pe, 3);  // conv1: 150 / 12 -> PE*SIMD >= 12.5, the only 15 is 3 x 5
    EXPECT_EQ(f[0].simd, 5);
    EXPECT_EQ(f[0].cycles, 7840);
    EXPECT_EQ(error_of([] {
                  make<Dataflow>({{"folding", S("target_fps")}, {"target_fps", 200000.0}}).fold(lenet5());
              }),
              "dataflow: layer 1 (conv1): cannot reach target_fps 200000 at clock_mhz 100: even fully unfolded it "
              "needs 784 cycles, the budget is 500");
}

TEST(Dataflow, FilterLevelRegroupedByPe) {
    // conv1 on PE 3: PE p serves filters p and p+3. Requested [KV6, L2N, L2N, L2N, L2N, KV6]:
    // PE 0 {KV6, L2N} tie -> KV6 (more expensive), PE 1 {L2N, L2N} -> L2N, PE 2 {L2N, KV6}
    // tie -> KV6. conv2 on PE 4: PE 0 serves 0,4,8,12 = L2N,L2N,L2N,KV6 -> L2N (3 of 4).
    const auto layers = lenet5();
    Configuration c;
    c.granularity = Granularity::Filter;
    c.blocks.resize(5);
    c.blocks[0] = {KV6, L2N, L2N, L2N, L2N, KV6};
    c.blocks[1].assign(16, KV6);
    c.blocks[1][0] = c.blocks[1][4] = c.blocks[1][8] = L2N;
    for (std::size_t l = 2; l < 5; ++l) c.blocks[l].assign(static_cast<std::size_t>(layers[l].out_channels), KV9);
    const auto r = lenet_engine().evaluate(layers, c, paper_names(), paper_costs());
    EXPECT_EQ(r.realized.granularity, Granularity::Filter);
    EXPECT_EQ(r.realized.blocks[0], (std::vector<int>{KV6, L2N, KV6, KV6, L2N, KV6}));
    std::vector<int> conv2(16, KV6);
    conv2[0] = conv2[4] = conv2[8] = conv2[12] = L2N;
    EXPECT_EQ(r.realized.blocks[1], conv2);
    ASSERT_EQ(r.changes.size(), 3u);
    EXPECT_EQ(r.changes[0],
              "layer 1 (conv1): PE 0 (filters f mod 3 = 0) runs KV6 (majority of 1 of 2 filters); filters moved "
              "from: 3:L2N");
    EXPECT_EQ(r.changes[2],
              "layer 2 (conv2): PE 0 (filters f mod 4 = 0) runs L2N (majority of 3 of 4 filters); filters moved "
              "from: 12:KV6");
    // conv1: 2 KV6 PEs + 1 L2N PE x 5 lanes; conv2: 1 L2N PE + 3 KV6 PEs x 15 lanes.
    EXPECT_NEAR(r.per_group_power_mw.at("conv1"), 10 * 0.425 + 5 * 0.126, 1e-12);
    EXPECT_NEAR(r.per_group_power_mw.at("conv2"), 45 * 0.425 + 15 * 0.126, 1e-12);
}

TEST(Dataflow, OperationLevelRegroupedBySimdLane) {
    // One layer, 2 filters x 4 weight positions on PE 1 x SIMD 2: lane 0 serves k = 0, 2 of both
    // filters, lane 1 serves k = 1, 3.
    const std::vector<LayerShape> layers = {{"fc", "linear", 2, 4, 1}};
    Configuration c;
    c.granularity = Granularity::Operation;
    c.blocks = {{KV6, L2N, L2N, KV6, L2N, KV6, L2N, KV6}};
    // lane 0: KV6, L2N, L2N, L2N -> L2N; lane 1: L2N, KV6, KV6, KV6 -> KV6.
    const auto r = make<Dataflow>({{"simd", S("2")}}).evaluate(layers, c, paper_names(), paper_costs());
    EXPECT_EQ(r.realized.blocks[0], (std::vector<int>{L2N, KV6, L2N, KV6, L2N, KV6, L2N, KV6}));
    ASSERT_EQ(r.changes.size(), 1u);
    EXPECT_EQ(r.changes[0],
              "layer 1 (fc): 2 of 2 multipliers (PE f mod 1, lane k mod 2) served mixed blocks; each takes its "
              "majority block, 2 weight positions changed");
    EXPECT_NEAR(r.power_mw, 0.425 + 0.126, 1e-12);
}

// unit_groups names exactly what the regrouping enforces, on LeNet-5 at filter and operation
// level: a configuration uniform inside every group is run as asked (no change), and any
// configuration is realized uniform inside every group.
TEST(Dataflow, UnitGroupsAreWhatTheRegroupingEnforces) {
    const Dataflow d = lenet_engine();
    const auto layers = lenet5();
    EXPECT_TRUE(d.unit_groups(layers, Granularity::Layer).empty());
    std::mt19937_64 rng(11);
    for (Granularity g : {Granularity::Filter, Granularity::Operation}) {
        const auto ids = d.unit_groups(layers, g);
        ASSERT_EQ(ids.size(), layers.size());
        // conv1 PE 3 SIMD 5 ... fc3 PE 2 SIMD 4: groups per layer
        const std::vector<std::size_t> want = g == Granularity::Filter ? std::vector<std::size_t>{3, 4, 8, 4, 2}
                                                                       : std::vector<std::size_t>{15, 60, 80, 24, 8};
        for (std::size_t l = 0; l < layers.size(); ++l) {
            ASSERT_EQ(ids[l].size(), static_cast<std::size_t>(unit_count(layers[l], g)));
            EXPECT_EQ(static_cast<std::size_t>(*std::max_element(ids[l].begin(), ids[l].end()) + 1), want[l]);
        }
        for (int trial = 0; trial < 4; ++trial) {
            Configuration grouped, mixed;
            grouped.granularity = mixed.granularity = g;
            for (std::size_t l = 0; l < layers.size(); ++l) {
                std::vector<int> per_group(want[l]);
                for (int& b : per_group) b = static_cast<int>(rng() % 5);
                auto& row = grouped.blocks.emplace_back();
                auto& any = mixed.blocks.emplace_back();
                for (std::int64_t id : ids[l]) {
                    row.push_back(per_group[static_cast<std::size_t>(id)]);
                    any.push_back(static_cast<int>(rng() % 5));
                }
            }
            const auto r = d.evaluate(layers, grouped, paper_names(), paper_costs());
            EXPECT_EQ(r.realized.blocks, grouped.blocks);
            EXPECT_TRUE(r.changes.empty());
            const auto m = d.evaluate(layers, mixed, paper_names(), paper_costs());
            EXPECT_FALSE(m.changes.empty());
            for (std::size_t l = 0; l < layers.size(); ++l) {
                std::map<std::int64_t, int> seen;
                for (std::size_t u = 0; u < ids[l].size(); ++u) {
                    const auto [it, fresh] = seen.emplace(ids[l][u], m.realized.blocks[l][u]);
                    EXPECT_EQ(it->second, m.realized.blocks[l][u]) << "layer " << l << " unit " << u;
                }
            }
        }
    }
}

TEST(Dataflow, ConfigurationShapeErrors) {
    Configuration c = all_layers(4, KV6);
    EXPECT_EQ(error_of([&] { lenet_engine().evaluate(lenet5(), c, paper_names(), paper_costs()); }),
              "dataflow: the configuration covers 4 layers, the network has 5");
    c = all_layers(5, 9);
    EXPECT_EQ(error_of([&] { lenet_engine().evaluate(lenet5(), c, paper_names(), paper_costs()); }),
              "dataflow: layer 1 (conv1): block index 9 is not one of the 6 blocks");
}
