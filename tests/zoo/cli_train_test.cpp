// hawx train end to end: a short run on synthetic data, and one-line errors for bad options.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include "hawx/zoo/checkpoint.hpp"
#include "zoo_test_util.hpp"

namespace {

using hawx::test::ZooTempDir;

using Result = hawx::test::CmdResult;
Result hawx_cmd(const std::string& args) { return hawx::test::run_hawx(HAWX_EXE, args); }

TEST(ZooCli, TrainsOnSyntheticDataAndWritesACheckpoint) {
    ZooTempDir dir;
    const std::string ck = dir.file("lenet.pt");
    const Result r = hawx_cmd("train --model lenet5 --dataset synthetic --epochs 1 --threads 1 --seed 3 --out '" + ck + "'");
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_EQ(r.err, "") << "no progress bar when stderr is not a terminal";
    EXPECT_NE(r.out.find("epoch 1/1: loss "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("test accuracy: "), std::string::npos) << r.out;
    hawx::zoo::CheckpointMeta meta;
    auto net = hawx::zoo::load_model(ck, &meta);
    EXPECT_EQ(meta.model, "lenet5");
    EXPECT_EQ(meta.options.in_channels, 1);
    EXPECT_EQ(meta.options.input_size, 32);
    EXPECT_EQ(meta.training.at("seed"), 3);
    EXPECT_EQ(meta.training.at("dataset"), "synthetic");
    EXPECT_GE(meta.training.at("test_accuracy").get<double>(), 90.0) << "synthetic classes are easy";
    ASSERT_TRUE(meta.input.has_value());
    EXPECT_EQ(meta.input->size, 32);
}

struct BadCase {
    const char* args;
    const char* message;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.args; }

class ZooCliBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ZooCliBad, OneLineErrorExit2NothingWritten) {
    ZooTempDir dir;
    const std::string ck = dir.file("x.pt");
    const Result r = hawx_cmd(std::string("train ") + GetParam().args + " --out '" + ck + "'");
    EXPECT_EQ(r.code, 2) << r.out << r.err;
    EXPECT_TRUE(!r.err.empty() && r.err.find('\n') == r.err.size() - 1) << r.err;
    EXPECT_NE(r.err.find(GetParam().message), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(ck));
}

INSTANTIATE_TEST_SUITE_P(
    Zoo, ZooCliBad,
    ::testing::Values(BadCase{"--model alexnet --dataset synthetic", "unknown model 'alexnet'"},
                      BadCase{"--model lenet5 --dataset imagenet", "unknown dataset 'imagenet'"},
                      BadCase{"--model lenet5 --dataset synthetic --epochs 0", "--epochs must be >= 1"},
                      BadCase{"--model lenet5 --dataset synthetic --width -1", "--width must be in (0, 64]"},
                      BadCase{"--model lenet5 --dataset synthetic --lr 0", "learning rate must be a positive number"},
                      BadCase{"--model lenet5 --dataset synthetic --optimizer lbfgs", "unknown optimizer 'lbfgs'"},
                      BadCase{"--model lenet5 --dataset synthetic --input-size 8", "input_size 8 is too small"},
                      BadCase{"--model lenet5 --dataset synthetic --val-size 5000", "--val-size 5000 leaves no training"},
                      BadCase{"--model lenet5 --dataset cifar10", "dataset cifar10 needs a data folder"},
                      BadCase{"--model lenet5 --dataset mnist --data-dir /nonexistent", "/nonexistent: no train images"},
                      BadCase{"--model lenet5 --dataset synthetic --epochs abc", "epochs"}));

TEST(ZooCli, OutFolderMustExist) {
    const Result r = hawx_cmd("train --model lenet5 --dataset synthetic --out /nonexistent/dir/x.pt");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("folder /nonexistent/dir does not exist"), std::string::npos) << r.err;
}

}  // namespace
