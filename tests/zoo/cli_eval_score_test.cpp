// hawx eval and hawx score end to end on a LeNet-5 trained briefly on synthetic data, and
// one-line errors (exit 2, nothing written) for bad input.
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include "zoo_test_util.hpp"

namespace {

using hawx::test::ZooTempDir;

using Result = hawx::test::CmdResult;
Result hawx_cmd(const std::string& args) { return hawx::test::run_hawx(HAWX_EXE, args); }

const std::string kManifest = std::string(HAWX_SOURCE_DIR) + "/experiments/lenet5_blocks.json";

std::string train(const ZooTempDir& dir) {
    const std::string ck = dir.file("lenet.pt");
    const Result r = hawx_cmd("train --model lenet5 --dataset synthetic --epochs 1 --threads 1 --out '" + ck + "'");
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    return ck;
}

TEST(EvalScoreCli, EvaluatesAConfigurationAndWritesScores) {
    ZooTempDir dir;
    const std::string ck = train(dir);
    const Result e = hawx_cmd("eval --checkpoint '" + ck + "' --manifest '" + kManifest +
                              "' --config '1-2:(T6,T2) 3-5:DRUM4' --limit 300 --threads 1");
    ASSERT_EQ(e.code, 0) << e.out << e.err;
    for (const char* s : {"float:", "int8-exact:", "approximate:", "configuration: 1-2:(T6,T2) 3-5:DRUM4"})
        EXPECT_NE(e.out.find(s), std::string::npos) << s << "\n" << e.out;

    const std::string runs = dir.file("runs");
    std::filesystem::create_directories(runs);
    const Result s = hawx_cmd("score --checkpoint '" + ck + "' --manifest '" + kManifest +
                              "' --k 4 --profile-size 400 --threads 1 --out '" + runs + "'");
    ASSERT_EQ(s.code, 0) << s.out << s.err;
    const std::string folder = runs + "/lenet5-blocks-score";
    for (const char* f : {"scores.json", "scores_model.csv", "scores_layer.csv", "scores_filter.csv", "manifest.resolved.json"})
        EXPECT_TRUE(std::filesystem::exists(folder + "/" + f)) << f;
    const auto j = nlohmann::json::parse(hawx::test::slurp(folder + "/scores.json"));
    EXPECT_EQ(j.at("representatives").at("ids").size(), 4u);
    EXPECT_EQ(j.at("layers").size(), 5u);
    // EX is exact: zero score; T6 truncates more than T2: a larger score.
    std::map<std::string, double> mean;
    for (const auto& m : j.at("model_scores"))
        if (!m.at("mean").is_null()) mean[m.at("block")] = m.at("mean").get<double>();
    EXPECT_EQ(mean.at("EX"), 0.0);
    EXPECT_GT(mean.at("T6"), mean.at("T2"));
    EXPECT_GT(mean.at("T2"), 0.0);
}

// The accuracy figure after `key` in `text` ("12.34%").
std::string accuracy_after(const std::string& text, const std::string& key) {
    const auto at = text.find(key);
    if (at == std::string::npos) return "<" + key + " missing>";
    const auto begin = text.find_first_of("0123456789", at + key.size());
    return text.substr(begin, text.find('%', begin) - begin);
}

TEST(EvalScoreCli, FinetuneWritesACheckpointEvalReadsWithTheAccuracyItReported) {
    ZooTempDir dir;
    const std::string ck = train(dir), out = dir.file("tuned.pt");
    const Result f = hawx_cmd("finetune --checkpoint '" + ck + "' --manifest '" + kManifest +
                              "' --config '1-5:T6' --images 512 --epochs 2 --lr 1e-3 --limit 300 --threads 1 --out '" +
                              out + "'");
    ASSERT_EQ(f.code, 0) << f.out << f.err;
    for (const char* s : {"epoch 1/2: loss", "epoch 2/2: loss", "val before", "int8-exact", "approximate", "wrote "})
        EXPECT_NE(f.out.find(s), std::string::npos) << s << "\n" << f.out;
    EXPECT_FALSE(std::filesystem::exists(out + ".state")) << "the resumable state goes once done";
    const Result e = hawx_cmd("eval --checkpoint '" + out + "' --manifest '" + kManifest +
                              "' --config '1-5:T6' --limit 300 --threads 1");
    ASSERT_EQ(e.code, 0) << e.out << e.err;
    EXPECT_NE(e.out.find("calibration: the activation ranges"), std::string::npos) << e.out;
    EXPECT_EQ(accuracy_after(e.out, "approximate:"), accuracy_after(f.out.substr(f.out.find("after: approximate")), "on validation, "))
        << "hawx eval uses the ranges the fine-tune trained with\n" << f.out << e.out;
    const Result r = hawx_cmd("eval --checkpoint '" + out + "' --manifest '" + kManifest +
                              "' --config '1-5:T6' --limit 300 --threads 1 --recalibrate");
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("calibration: 2000 training images"), std::string::npos) << r.out;
    // hawx score (and hawx run, through the same profiling step) use the stored ranges too:
    // its T6-in-every-layer accuracy is hawx eval's.
    const std::string runs = dir.file("runs");
    std::filesystem::create_directories(runs);
    const Result sc = hawx_cmd("score --checkpoint '" + out + "' --manifest '" + kManifest +
                               "' --k 2 --profile-size 200 --no-operation-scores --measure --limit 300 --threads 1 --out '" +
                               runs + "'");
    ASSERT_EQ(sc.code, 0) << sc.out << sc.err;
    EXPECT_NE(sc.out.find("calibration: the activation ranges"), std::string::npos) << sc.out;
    const auto row = sc.out.find("\nT6 ");
    ASSERT_NE(row, std::string::npos) << sc.out;
    const auto pct = sc.out.find('%', row);
    const std::string t6 = sc.out.substr(sc.out.rfind(' ', pct) + 1, pct - sc.out.rfind(' ', pct) - 1);
    EXPECT_EQ(t6, accuracy_after(e.out, "approximate:")) << sc.out << e.out;
}

TEST(EvalScoreCli, BadInputIsOneLineExit2AndWritesNothing) {
    ZooTempDir dir;
    const std::string ck = train(dir);
    const std::string runs = dir.file("runs");
    std::filesystem::create_directories(runs);
    const std::string m = " --manifest '" + kManifest + "'";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"eval --checkpoint '" + ck + "'" + m + " --config '1-6:T4'", "layer 6 outside 1..5"},
        {"eval --checkpoint '" + ck + "'" + m + " --config '*:NOPE'", "unknown block 'NOPE'"},
        {"eval --checkpoint '" + ck + "' --path warp", "kernel path 'warp'"},
        {"eval --checkpoint '" + dir.file("missing.pt") + "'", "missing.pt"},
        {"eval --checkpoint '" + ck + "' --calibration 0", "--calibration must be >= 1"},
        {"finetune --checkpoint '" + ck + "'" + m + " --config '*:T6' --gradient warp --out '" + runs + "/t.pt'",
         "gradient 'warp' is not known"},
        {"finetune --checkpoint '" + ck + "'" + m + " --config '*:T6' --epochs 0 --out '" + runs + "/t.pt'",
         "--epochs must be in [1, 100000]"},
        {"finetune --checkpoint '" + ck + "'" + m + " --config '*:T6' --out '" + ck + "'",
         "is the checkpoint being fine-tuned"},
        {"finetune --checkpoint '" + ck + "'" + m + " --config '1-6:T6' --out '" + runs + "/t.pt'", "layer 6 outside 1..5"},
        {"score --checkpoint '" + ck + "'" + m + " --k 0 --out '" + runs + "'", "--k must be >= 1"},
        {"score --checkpoint '" + ck + "'" + m + " --k 60 --profile-size 50 --out '" + runs + "'",
         "larger than the profiling set"},
        {"score --checkpoint '" + ck + "' --manifest '" + dir.file("none.json") + "' --out '" + runs + "'", "none.json"},
    };
    for (const auto& [args, message] : cases) {
        const Result r = hawx_cmd(args);
        EXPECT_EQ(r.code, 2) << args << "\n" << r.out << r.err;
        EXPECT_TRUE(!r.err.empty() && r.err.find('\n') == r.err.size() - 1) << args << "\n" << r.err;
        EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
    }
    EXPECT_TRUE(std::filesystem::is_empty(runs)) << "a failed score left a run folder behind";
}

}  // namespace

// hawx score profiles the network quantized the blocks' way: with unsigned (uint8) blocks the
// profile is uint8-exact, so they get scores (issue 15: it always took the signed "exact").
TEST(EvalScoreCli, ScoresUnsignedBlocksOnAnUnsignedProfile) {
    ZooTempDir dir;
    const std::string ck = train(dir);
    const std::string manifest = dir.file("unsigned.json");
    std::ofstream(manifest) << nlohmann::json{
        {"hawx", 1},
        {"name", "unsigned"},
        {"blocks",
         {{{"name", "EXU"}, {"component", "core.exact_mul"}, {"params", {{"signed", false}}}},
          {{"name", "T2U"}, {"component", "core.truncated_mul"}, {"params", {{"k", 2}, {"signed", false}}}},
          {{"name", "T6U"}, {"component", "core.truncated_mul"}, {"params", {{"k", 6}, {"signed", false}}}}}}}
                                   .dump();
    const std::string runs = dir.file("runs");
    std::filesystem::create_directories(runs);
    const Result s = hawx_cmd("score --checkpoint '" + ck + "' --manifest '" + manifest +
                              "' --k 3 --profile-size 300 --threads 1 --no-operation-scores --out '" + runs + "'");
    ASSERT_EQ(s.code, 0) << s.out << s.err;
    const auto j = nlohmann::json::parse(hawx::test::slurp(runs + "/unsigned-score/scores.json"));
    std::map<std::string, nlohmann::json> mean;
    for (const auto& m : j.at("model_scores")) mean[m.at("block")] = m.at("mean");
    ASSERT_TRUE(mean.at("T6U").is_number()) << j.at("model_scores").dump();
    EXPECT_EQ(mean.at("EXU").get<double>(), 0.0);
    EXPECT_GT(mean.at("T6U").get<double>(), mean.at("T2U").get<double>());
    EXPECT_GT(mean.at("T2U").get<double>(), 0.0);
}

namespace {

long correct_on(const std::string& out, const std::string& what);

// A manifest with a T4 multiplier, a saturating 16-bit LOA accumulator (sums saturate, so orders differ) and the MAC blocks `macs`; one dataflow
// accelerator with `dataflow` params.
std::string mac_manifest(const ZooTempDir& dir, const std::string& name, const nlohmann::json& macs,
                         const nlohmann::json& dataflow) {
    nlohmann::json blocks = {
        {{"name", "EX"}, {"component", "core.exact_mul"}},
        {{"name", "T4"}, {"component", "core.truncated_mul"}, {"params", {{"k", 4}}}},
        {{"name", "LOA"}, {"component", "core.loa_add"}, {"params", {{"bits", 16}, {"k", 5}, {"overflow", "saturate"}}}}};
    for (const auto& m : macs) blocks.push_back(m);
    const std::string path = dir.file(name + ".json");
    std::ofstream(path) << nlohmann::json{
        {"hawx", 1},
        {"name", name},
        {"blocks", blocks},
        {"accelerators", {{{"name", "dataflow"}, {"component", "accelerators.dataflow"}, {"params", dataflow}}}}}
                               .dump();
    return path;
}

}  // namespace

// Issue 18: a MAC block of order "auto" sums each layer with a tree of that layer's SIMD lanes
// on the manifest's dataflow accelerator: the same images right as naming tree:SIMD per layer.
TEST(EvalScoreCli, MacOrderAutoIsTheDataflowSimdOfEachLayer) {
    ZooTempDir dir;
    const std::string ck = train(dir);
    const nlohmann::json folded = {{"pe", "1"}, {"simd", "5,15,10,6,4"}, {"exact", "EX"}};
    const std::string autom = mac_manifest(
        dir, "auto", {{{"name", "M"}, {"multiplier", "T4"}, {"adder", "LOA"}, {"order", "auto"}}}, folded);
    nlohmann::json named = nlohmann::json::array();
    for (int s : {5, 15, 10, 6, 4})
        named.push_back({{"name", "M" + std::to_string(s)}, {"multiplier", "T4"}, {"adder", "LOA"}, {"order", "tree:" + std::to_string(s)}});
    named.push_back({{"name", "MS"}, {"multiplier", "T4"}, {"adder", "LOA"}, {"order", "sequential"}});
    const std::string namedm = mac_manifest(dir, "named", named, folded);
    const auto eval = [&](const std::string& m, const std::string& config) {
        const Result r = hawx_cmd("eval --checkpoint '" + ck + "' --manifest '" + m + "' --config '" + config +
                                  "' --limit 1000 --threads 1 --verbose");
        EXPECT_EQ(r.code, 0) << r.out << r.err;
        return r;
    };
    const Result a = eval(autom, "1-5:M");
    EXPECT_NE(a.out.find("MAC order auto: tree:SIMD per layer from dataflow accelerator 'dataflow' (simd 5,15,10,6,4)"),
              std::string::npos) << a.out;
    for (const char* t : {"adder LOA tree:5", "adder LOA tree:15", "adder LOA tree:10", "adder LOA tree:6", "adder LOA tree:4"})
        EXPECT_NE(a.out.find(t), std::string::npos) << t << "\n" << a.out;
    const Result n = eval(namedm, "1:M5 2:M15 3:M10 4:M6 5:M4");
    EXPECT_EQ(correct_on(a.out, "approximate:"), correct_on(n.out, "approximate:")) << a.out << n.out;
    EXPECT_GE(correct_on(a.out, "approximate:"), 0) << a.out;

    // Without a dataflow accelerator auto is sequential, and says so.
    const std::string plain = dir.file("plain.json");
    {
        auto j = nlohmann::json::parse(hawx::test::slurp(autom));
        j.erase("accelerators");
        std::ofstream(plain) << j.dump();
    }
    const Result p = eval(plain, "1-5:M");
    EXPECT_NE(p.out.find("MAC order auto: sequential in every layer (no dataflow accelerator in the manifest)"),
              std::string::npos) << p.out;
    EXPECT_EQ(correct_on(p.out, "approximate:"), correct_on(eval(namedm, "1-5:MS").out, "approximate:"));

    // A folding the tool derives, or a list that does not fit the model, is refused.
    for (const auto& [params, message] : std::vector<std::pair<nlohmann::json, std::string>>{
             {{{"folding", "target_fps"}, {"exact", "EX"}}, "its folding is target_fps; give explicit pe and simd lists"},
             {{{"simd", "5,15,10"}, {"exact", "EX"}}, "which has 3 entries for a model of 5 approximable layers"}}) {
        const std::string m = mac_manifest(dir, "bad", {{{"name", "M"}, {"multiplier", "T4"}, {"adder", "LOA"}, {"order", "auto"}}}, params);
        const Result r = hawx_cmd("eval --checkpoint '" + ck + "' --manifest '" + m + "' --config '1-5:M' --limit 100");
        EXPECT_EQ(r.code, 2) << r.out << r.err;
        EXPECT_TRUE(!r.err.empty() && r.err.find('\n') == r.err.size() - 1) << r.err;
        EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    }
}

namespace {

// The number of test images a `hawx eval` line ("float:  61.33%  (6133/10000, ...") counts right.
long correct_on(const std::string& out, const std::string& what) {
    const auto at = out.find(what);
    if (at == std::string::npos) return -1;
    const auto open = out.find('(', at);
    return open == std::string::npos ? -1 : std::stol(out.substr(open + 1));
}

}  // namespace

// Issue 15 item 2: a model a user trained in PyTorch on Fashion-MNIST at 28x28 (depthwise and
// grouped convolutions, bias-free layers, BatchNorm, SiLU/ReLU6/hardswish, a residual add,
// adaptive pooling) accepts any input size; it must run at the dataset's own size, say so,
// and classify exactly the test images PyTorch classifies right with the same normalisation.
TEST(EvalScoreCli, TorchScriptModelRunsAtTheDatasetsSizeWithPyTorchsAccuracy) {
    if (!hawx::test::python_has_torch()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch";
    ZooTempDir dir;
    const std::string cmd = std::string(hawx::test::kTorchPython) + " '" HAWX_SOURCE_DIR "/tests/zoo/user_model.py' '" +
                            dir.file("m") + "' > '" + dir.file("python.log") + "' 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << hawx::test::slurp(dir.file("python.log"));
    const auto ref = nlohmann::json::parse(hawx::test::slurp(dir.file("m/user.json")));
    const std::string norm = " --dataset fashion-mnist --input-mean 0.286 --input-std 0.353 --threads 2";
    for (const std::string how : {"script", "trace"}) {
        const std::string model = dir.file("m/user." + how + ".pt");
        const Result r = hawx_cmd("eval --checkpoint '" + model + "'" + norm);
        ASSERT_EQ(r.code, 0) << how << r.out << r.err;
        EXPECT_NE(r.out.find("input 1x28x28 (the dataset's native size)"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("28x28 images as they are"), std::string::npos) << r.out;
        EXPECT_EQ(correct_on(r.out, "float:"), ref.at("correct").at(how).get<long>()) << how << "\n" << r.out;
    }
    // An input size given by the user is used, and the log says so.
    const Result r = hawx_cmd("eval --checkpoint '" + dir.file("m/user.script.pt") + "'" + norm + " --input-size 32 --limit 500");
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("input 1x32x32 (--input-size)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("28x28 images zero-padded to 32x32"), std::string::npos) << r.out;
    const Result bad = hawx_cmd("eval --checkpoint '" + dir.file("m/user.script.pt") + "' --input-size 0");
    EXPECT_EQ(bad.code, 2) << bad.out;
    EXPECT_NE(bad.err.find("--input-size must be in [1, 4096]"), std::string::npos) << bad.err;
}
