// The models loaded as a plugin (hawx_accelerators.so) from a manifest's `accelerators` list,
// so the schema, defaults and parameter validation of the core are exercised.
#include <gtest/gtest.h>

#include "hawx/accelerators/common.hpp"
#include "hawx/framework/manifest.hpp"
#include "hawx/framework/pareto.hpp"
#include "hawx/framework/plugin_manager.hpp"
#include "test_util.hpp"

using nlohmann::json;
using namespace hawx::test;

namespace {

json manifest(json accelerators) {
    return {{"hawx", 1}, {"name", "acc"}, {"accelerators", std::move(accelerators)}};
}

hawx::Instances load(const json& doc, hawx::PluginManager& pm) {
    const hawx::Manifest m = hawx::parse_manifest(doc, "/x/acc.json");
    return hawx::instantiate(hawx::resolve_manifest(m, pm), pm);
}

}  // namespace

TEST(AcceleratorManifest, ModelsRunFromAManifestOnLeNetAndVgg) {
    hawx::PluginManager pm(hawx::plugin_search_path({}));
    const json accs = json::array(
        {{{"name", "df_lenet"},
          {"component", "accelerators.dataflow"},
          {"params", {{"pe", "3,4,8,4,2"}, {"simd", "5,15,10,6,4"}}}},
         {{"name", "df_vgg"},
          {"component", "accelerators.dataflow"},
          {"params", {{"folding", "target_fps"}, {"target_fps", 100.0}, {"clock_mhz", 200.0}}}},
         {{"name", "perun1"}, {"component", "accelerators.perun"}, {"params", {{"compute_vectors", 1}, {"lids", 8}}}},
         {{"name", "perun8"}, {"component", "accelerators.perun"}, {"params", {{"compute_vectors", 8}}}},
         {{"name", "alg1"}, {"component", "accelerators.algorithm1"}, {"params", {{"exact", "KV6"}}}}});
    const hawx::Instances inst = load(manifest(accs), pm);
    ASSERT_EQ(inst.accelerators.size(), 5u);
    const auto names = paper_names();
    const auto costs = paper_costs();
    for (const auto& [name, model] : inst.accelerators) {
        const bool vgg = name == "df_vgg" || name == "perun8";
        const auto layers = vgg ? vgg11() : lenet5();
        const auto r = model->evaluate(layers, all_layers(layers.size(), L2N), names, costs);
        EXPECT_NEAR(hawx::accelerators::normalized_power(r), 0.296, 0.0005) << name;
        EXPECT_NEAR(hawx::accelerators::normalized_area(r), 0.390, 0.0005) << name;
        if (name == "df_lenet") EXPECT_EQ(r.latency_cycles, 7840);
        // 200 MHz / 100 fps = 2e6 cycles per inference.
        if (name == "df_vgg") EXPECT_LE(r.latency_cycles, 2e6);
        if (name == "perun1") {
            // LeNet-5 on 8 LIDs, one block: each layer takes ceil(filters/8) rounds.
            const double want = 1 * 25 * 784 + 2 * 150 * 100 + 15 * 400 + 11 * 120 + 2 * 84;
            EXPECT_EQ(r.latency_cycles, want);
        }
    }
}

TEST(AcceleratorManifest, SchemaErrorsComeFromTheCore) {
    hawx::PluginManager pm(hawx::plugin_search_path({}));
    const auto error = [&](const json& params) {
        return error_of([&] {
            load(manifest(json::array({{{"name", "d"}, {"component", "accelerators.dataflow"}, {"params", params}}})),
                 pm);
        });
    };
    EXPECT_NE(error({{"pe", 3}}).find("pe"), std::string::npos);
    EXPECT_NE(error({{"folding", "fast"}}).find("folding"), std::string::npos);
    EXPECT_NE(error({{"peu", "3"}}).find("peu"), std::string::npos);
    EXPECT_NE(error({{"clock_mhz", -1.0}}).find("clock_mhz"), std::string::npos);
    EXPECT_EQ(error({{"pe", "3"}}), "(no error)");
}

TEST(AcceleratorManifest, ParetoSetOfLeNetConfigurationsOnTheDataflow) {
    // Table II's LeNet-5 rows with their published accuracies, costed on the manifest's
    // dataflow engine (PE 3,4,8,4,2 / SIMD 5,15,10,6,4), plus a made-up dominated point.
    hawx::PluginManager pm(hawx::plugin_search_path({}));
    const hawx::Instances inst = load(
        manifest(json::array({{{"name", "df"},
                               {"component", "accelerators.dataflow"},
                               {"params", {{"pe", "3,4,8,4,2"}, {"simd", "5,15,10,6,4"}}}}})),
        pm);
    const auto& model = *inst.accelerators.at(0).second;
    const auto layers = lenet5();
    const auto names = paper_names();
    const auto costs = paper_costs();
    auto filter_halves = [&](int first, int second, int rest) {  // "1-2:(first,second) 3-5:rest"
        hawx::Configuration c;
        c.granularity = hawx::Granularity::Filter;
        for (std::size_t l = 0; l < layers.size(); ++l) {
            const auto f = static_cast<std::size_t>(layers[l].out_channels);
            c.blocks.emplace_back(f, rest);
            if (l < 2)
                for (std::size_t i = 0; i < f; ++i) c.blocks[l][i] = i < f / 2 ? first : second;
        }
        return c;
    };
    hawx::Configuration kvp_l2j = all_layers(5, KVP);
    kvp_l2j.blocks[4][0] = L2J;
    struct Row {
        std::string text;
        hawx::Configuration c;
        double accuracy;
    };
    const std::vector<Row> rows = {{"1-5:KV6", all_layers(5, KV6), 97.80},
                                   {"1-5:KV9", all_layers(5, KV9), 97.77},
                                   {"1-2:(KV9,KVP) 3-5:KV9", filter_halves(KV9, KVP, KV9), 97.77},
                                   {"1-4:KVP 5:L2J", kvp_l2j, 97.54},
                                   {"1-5:L2N", all_layers(5, L2N), 95.58},
                                   {"1-5:KV8 (made up)", all_layers(5, KV8), 97.70}};
    hawx::ParetoSet set;
    std::vector<bool> kept;
    for (const auto& row : rows) {
        const auto r = model.evaluate(layers, row.c, names, costs);
        kept.push_back(set.add({row.accuracy, hawx::accelerators::normalized_power(r),
                                hawx::accelerators::normalized_area(r), row.text,
                                {{"changes", r.changes.size()}, {"latency_cycles", r.latency_cycles}}}));
        if (row.text.rfind("1-2:", 0) == 0) {
            // On PE 3 / PE 4 every PE gets one KV9 and one KVP filter half: ties go to KV9, so
            // the realized design is 1-5:KV9 (same cost, same accuracy -> not a new point).
            EXPECT_EQ(r.realized.blocks, filter_halves(KV9, KV9, KV9).blocks);
            EXPECT_EQ(r.changes.size(), 3u + 4u);
        }
    }
    EXPECT_EQ(kept, (std::vector<bool>{true, true, false, true, true, false}));
    const auto pts = set.points();
    ASSERT_EQ(pts.size(), 4u);
    EXPECT_EQ(pts[3].configuration, "1-5:L2N");
    EXPECT_NEAR(pts[3].power, 0.296, 0.0005);
    EXPECT_NEAR(pts[2].power, (179 * 0.363 + 8 * 0.301) / (187 * 0.425), 1e-12);
}
