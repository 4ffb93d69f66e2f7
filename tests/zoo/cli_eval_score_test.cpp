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
