// hawx score with metric plugins end to end on a LeNet-5 trained briefly on synthetic data:
// every level and the distribution file are written; a metric without gradients runs without
// backward (no distributions); an unknown metric is a one-line error with nothing written.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "../zoo/zoo_test_util.hpp"

namespace {

using hawx::test::ZooTempDir;
hawx::test::CmdResult hawx_cmd(const std::string& args) { return hawx::test::run_hawx(HAWX_EXE, args); }
const std::string kManifest = std::string(HAWX_SOURCE_DIR) + "/experiments/lenet5_blocks.json";

std::size_t lines(const std::string& path) {
    std::ifstream in(path);
    std::size_t n = 0;
    for (std::string s; std::getline(in, s);) ++n;
    return n;
}

TEST(ScoreCliMetrics, WritesEveryLevelAndDistributionsAndSkipsBackwardWithoutGradients) {
    ZooTempDir dir;
    const std::string ck = dir.file("lenet.pt");
    const auto t = hawx_cmd("train --model lenet5 --dataset synthetic --epochs 1 --threads 1 --out '" + ck + "'");
    ASSERT_EQ(t.code, 0) << t.out << t.err;
    const std::string runs = dir.file("runs");
    std::filesystem::create_directories(runs);
    const std::string common = "score --checkpoint '" + ck + "' --manifest '" + kManifest +
                               "' --k 3 --profile-size 200 --threads 1 --out '" + runs + "'";
    const auto h = hawx_cmd(common);
    ASSERT_EQ(h.code, 0) << h.out << h.err;
    const std::string f1 = runs + "/lenet5-blocks-score";
    // LeNet-5: 5 layers; weight positions 6*25 + 16*150 + 120*400 + 84*120 + 10*84 = 61470 per block;
    // 8 manifest blocks + "exact" are signed and scored ("exact-u" is not): 9 x 61470 rows
    EXPECT_EQ(lines(f1 + "/scores_operation.csv"), 1u + 9u * 61470u);
    // distribution rows: 9 blocks x (5 layers + model)
    EXPECT_EQ(lines(f1 + "/scores_distribution.csv"), 1u + 9u * 6u);
    const auto j = nlohmann::json::parse(hawx::test::slurp(f1 + "/scores.json"));
    EXPECT_EQ(j.at("metric"), "metrics.hawx");
    EXPECT_EQ(j.at("distributions").at("rows").size(), 54u);
    for (const auto& row : j.at("distributions").at("rows")) {
        double total = 0;
        for (double c : row.at("bins")) total += c;
        EXPECT_NEAR(total, row.at("operations").get<double>(), 1e-6) << row.dump();
        EXPECT_FALSE(row.at("sampled").get<bool>());
    }

    const auto a = hawx_cmd(common + " --metric metrics.ame --no-operation-scores");
    ASSERT_EQ(a.code, 0) << a.out << a.err;
    const std::string f2 = runs + "/lenet5-blocks-score-2";
    const auto ja = nlohmann::json::parse(hawx::test::slurp(f2 + "/scores.json"));
    EXPECT_EQ(ja.at("metric"), "metrics.ame");
    EXPECT_TRUE(ja.at("distributions").is_null());
    EXPECT_NE(ja.at("loss").get<std::string>().find("no backward"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(f2 + "/scores_operation.csv"));
    EXPECT_FALSE(std::filesystem::exists(f2 + "/scores_distribution.csv"));
    std::map<std::string, double> mean;
    for (const auto& m : ja.at("model_scores"))
        if (!m.at("mean").is_null()) mean[m.at("block")] = m.at("mean").get<double>();
    EXPECT_EQ(mean.at("EX"), 0.0);
    EXPECT_GT(mean.at("T6"), mean.at("T2"));

    const auto bad = hawx_cmd(common + " --metric metrics.nope");
    EXPECT_EQ(bad.code, 2) << bad.out << bad.err;
    EXPECT_TRUE(hawx::test::one_line(bad.err.substr(0, bad.err.size() - 1))) << bad.err;
    EXPECT_NE(bad.err.find("nope"), std::string::npos) << bad.err;
    EXPECT_FALSE(std::filesystem::exists(runs + "/lenet5-blocks-score-3"));
}

}  // namespace
