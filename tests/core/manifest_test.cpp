#include <gtest/gtest.h>

#include "hawx/framework/manifest.hpp"
#include "test_util.hpp"

using hawx::Error;
using nlohmann::json;

namespace {

std::string parse_error(const json& doc) {
    try {
        hawx::parse_manifest(doc, "/x/m.json");
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

json minimal() { return {{"hawx", 1}, {"name", "t"}}; }

TEST(ManifestStructure, UnknownTopLevelKey) {
    json d = minimal();
    d["blokcs"] = json::array();
    EXPECT_EQ(parse_error(d), "/x/m.json: unknown key 'blokcs' (valid: hawx, name, description, seed, plugins, blocks, "
                              "metric, search, accelerators, output, model, dataset, training, quantization, "
                              "profiling, exploration, finetune)");
}

TEST(ManifestStructure, Finetune) {
    json d = minimal();
    d["model"] = {{"checkpoint", "m.pt"}};
    d["seed"] = 7;
    d["finetune"] = {{"epochs", 3}, {"gradient", "slope"}, {"images", 1000}};
    const hawx::Manifest m = hawx::parse_manifest(d, "/x/m.json");
    ASSERT_TRUE(m.experiment.finetune);
    EXPECT_EQ(m.experiment.finetune->epochs, 3);
    EXPECT_EQ(m.experiment.finetune->gradient, "slope");
    EXPECT_EQ(m.experiment.finetune->images, 1000u);
    EXPECT_DOUBLE_EQ(m.experiment.finetune->lr, 1e-4);
    EXPECT_FALSE(m.experiment.finetune->seed);
    EXPECT_FALSE(m.experiment.finetune_in_loop);
    d["exploration"] = {{"finetune_in_loop", true}};
    EXPECT_TRUE(hawx::parse_manifest(d, "/x/m.json").experiment.finetune_in_loop);
    d["finetune"]["gradient"] = "lut";
    EXPECT_EQ(parse_error(d), "/x/m.json: finetune: 'gradient' must be one of ste, slope, got 'lut'");
    d["finetune"] = {{"epoch", 1}};
    EXPECT_EQ(parse_error(d).substr(0, 40), "/x/m.json: finetune: unknown key 'epoch'");
    d.erase("finetune");
    EXPECT_EQ(parse_error(d), "/x/m.json: exploration: 'finetune_in_loop' needs the fine-tuning settings (key 'finetune')");
    d["exploration"]["finetune_in_loop"] = 1;
    EXPECT_EQ(parse_error(d), "/x/m.json: exploration: 'finetune_in_loop' must be true or false, got 1");
    json nomodel = minimal();
    nomodel["finetune"] = json::object();
    EXPECT_EQ(parse_error(nomodel), "/x/m.json: finetune: fine-tuning needs a model (key 'model')");
}

TEST(ManifestStructure, FormatVersion) {
    EXPECT_EQ(parse_error({{"name", "t"}}), "/x/m.json: missing required key 'hawx' (the manifest format version, 1)");
    EXPECT_EQ(parse_error({{"hawx", 2}, {"name", "t"}}), "/x/m.json: 'hawx' must be the manifest format version 1, got 2");
}

TEST(ManifestStructure, TypesAndNames) {
    json d = minimal();
    d["seed"] = -1;
    EXPECT_EQ(parse_error(d), "/x/m.json: 'seed' must be a non-negative integer, got -1");
    d = minimal();
    d["name"] = "a b";
    EXPECT_EQ(parse_error(d), "/x/m.json: 'name' must be 1-128 letters, digits, '_', '-' and '.', got 'a b'");
    d = minimal();
    d["blocks"] = json::object();
    EXPECT_EQ(parse_error(d), "/x/m.json: 'blocks' must be an array, got object");
}

TEST(ManifestStructure, BlockEntries) {
    json d = minimal();
    d["blocks"] = {{{"name", "A"}, {"component", "core.exact_mul"}}, {{"name", "A"}, {"component", "core.exact_mul"}}};
    EXPECT_EQ(parse_error(d), "/x/m.json: blocks[1] (A): duplicate name 'A' in 'blocks'");
    d["blocks"] = {{{"name", "A"}, {"component", "core.exact_mul"}, {"param", json::object()}}};
    EXPECT_EQ(parse_error(d), "/x/m.json: blocks[0]: unknown key 'param' (valid: name, component, params)");
    d["blocks"] = {{{"name", "A"}}};
    EXPECT_EQ(parse_error(d), "/x/m.json: blocks[0] (A): missing required key 'component'");
    d["blocks"] = {{{"name", "A-1"}, {"component", "x.y"}}};
    EXPECT_EQ(parse_error(d), "/x/m.json: blocks[0]: name 'A-1' must be 1-64 letters, digits and '_'");
    d["blocks"] = {{{"name", "A"}, {"component", "x.y"}, {"params", 3}}};
    EXPECT_EQ(parse_error(d), "/x/m.json: blocks[0] (A): 'params' must be an object, got number");
}

TEST(ManifestStructure, PathsResolveAgainstManifestFolder) {
    json d = minimal();
    d["plugins"] = {{"paths", {"p", "/abs"}}};
    d["output"] = {{"dir", "../out"}};
    const hawx::Manifest m = hawx::parse_manifest(d, "/x/y/m.json");
    EXPECT_EQ(m.plugin_paths, (std::vector<std::string>{"/x/y/p", "/abs"}));
    EXPECT_EQ(m.output_dir, "/x/out");
}

TEST(ManifestFile, MissingAndMalformed) {
    hawx::test::TempDir dir;
    try {
        hawx::read_manifest(dir.str() + "/none.json");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), dir.str() + "/none.json: manifest not found");
    }
    const std::string bad = dir.file("bad.json", "{\"hawx\": 1,\n \"name\": }");
    try {
        hawx::read_manifest(bad);
        FAIL();
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_EQ(m.rfind(bad + ": malformed JSON: ", 0), 0u) << m;
        EXPECT_EQ(m.find('\n'), std::string::npos);
        EXPECT_NE(m.find("line 2"), std::string::npos) << m;
    }
}

TEST(ManifestResolve, ValidatesEveryComponentBeforeBuilding) {
    hawx::test::TempDir dir;
    json d = minimal();
    d["plugins"] = {{"paths", {hawx::test::fixture("good")}}};
    d["blocks"] = {{{"name", "S"}, {"component", "good.scaled_mul"}, {"params", {{"offset", 3}}}},
                   {{"name", "P"}, {"component", "good.needs_path"}, {"params", {{"path", "t.bin"}}}}};
    const std::string path = dir.file("m.json", d.dump());
    hawx::Manifest m = hawx::read_manifest(path);
    hawx::PluginManager pm(hawx::plugin_search_path(m.plugin_paths));
    const hawx::ResolvedManifest r = hawx::resolve_manifest(m, pm);
    const json rj = r.to_json();
    EXPECT_EQ(rj["blocks"][0]["params"]["offset"], 3);
    EXPECT_EQ(rj["blocks"][0]["params"]["flavour"], "plain");  // default filled
    EXPECT_EQ(rj["blocks"][1]["params"]["path"], dir.str() + "/t.bin");
    EXPECT_EQ(rj["resolved"]["libraries"]["good"]["version"], "3.0.0");
    EXPECT_EQ(rj["resolved"]["build_id"], hawx::core_build_id());
    const hawx::Instances inst = hawx::instantiate(r, pm);
    ASSERT_EQ(inst.blocks.size(), 2u);
    EXPECT_EQ(inst.blocks[0].first, "S");
    EXPECT_EQ(inst.blocks[0].second->apply(2, 3), 9);

    // A bad parameter in the second block is found before the first block is built.
    d["blocks"][1]["params"] = {{"path", 5}};
    const std::string p2 = dir.file("m2.json", d.dump());
    hawx::PluginManager pm2(hawx::plugin_search_path({hawx::test::fixture("good")}));
    try {
        hawx::resolve_manifest(hawx::read_manifest(p2), pm2);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), p2 + ": blocks[1] (P): parameter 'path' of good.needs_path must be a path, got 5");
    }
}

TEST(ManifestResolve, UnknownLibraryAndWrongKind) {
    json d = minimal();
    d["plugins"] = {{"paths", {hawx::test::fixture("good")}}};
    d["metric"] = {{"component", "good.scaled_mul"}};
    hawx::PluginManager pm({hawx::test::fixture("good")});
    try {
        hawx::resolve_manifest(hawx::parse_manifest(d, "/x/m.json"), pm);
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "/x/m.json: metric: component 'good.scaled_mul' is a block, not a metric");
    }
    d.erase("metric");
    d["blocks"] = {{{"name", "Z"}, {"component", "nolib.x"}}};
    try {
        hawx::resolve_manifest(hawx::parse_manifest(d, "/x/m.json"), pm);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("/x/m.json: blocks[0] (Z): plugin library 'nolib' not found (no hawx_nolib.so in ", 0), 0u) << e.what();
    }
}

}  // namespace
