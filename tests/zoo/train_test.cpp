// Training and evaluation on synthetic data; reproducibility; the progress bar.
#include <gtest/gtest.h>
#include <algorithm>
#include <torch/utils.h>

#include <ATen/Parallel.h>

#include "hawx/sdk/error.hpp"
#include "hawx/zoo/evaluate.hpp"
#include "hawx/zoo/progress.hpp"
#include "hawx/zoo/train.hpp"
#include "zoo_test_util.hpp"

namespace {

hawx::zoo::ModelOptions lenet_opts() {
    hawx::zoo::ModelOptions o;
    o.in_channels = 1;
    o.input_size = 16;
    o.num_classes = 4;
    o.width = 0.5;
    return o;
}

const hawx::Dataset& data() {
    static const hawx::Dataset d = [] {
        hawx::Dataset s = hawx::synthetic_dataset(900, 1, 16, 16, 4, 42);
        s.name = "synthetic";
        return s;
    }();
    return d;
}

hawx::InputSpec spec() { return hawx::input_spec_from_data(data(), 1, 16); }

hawx::zoo::TrainOptions quick() {
    hawx::zoo::TrainOptions t;
    t.epochs = 3;
    t.batch_size = 32;
    t.lr = 3e-3;
    t.optimizer = "adam";
    t.seed = 9;
    t.threads = 1;
    t.val_size = 200;
    t.progress = false;
    return t;
}

std::shared_ptr<hawx::zoo::Network> trained(std::uint64_t seed, hawx::zoo::TrainResult* result = nullptr) {
    torch::manual_seed(seed);
    auto net = hawx::zoo::make_model("lenet5", lenet_opts());
    auto t = quick();
    t.seed = seed;
    const auto r = hawx::zoo::train(*net, data(), spec(), t);
    if (result) *result = r;
    return net;
}

TEST(ZooTrain, LossFallsAndValidationAccuracyIsHigh) {
    torch::manual_seed(9);
    auto net = hawx::zoo::make_model("lenet5", lenet_opts());
    const auto [fit, val] = hawx::split_train_val(data(), 200);
    const hawx::zoo::EvalResult before = hawx::zoo::evaluate(*net, val, spec(), 64);
    std::vector<int> epochs_seen;
    const int threads_before = at::get_num_threads();
    const auto r = hawx::zoo::train(*net, data(), spec(), quick(),
                                    [&](const hawx::zoo::EpochStats& e) { epochs_seen.push_back(e.epoch); });
    EXPECT_EQ(at::get_num_threads(), threads_before) << "thread count restored";
    EXPECT_EQ(epochs_seen, (std::vector<int>{1, 2, 3}));
    ASSERT_EQ(r.epochs.size(), 3u);
    EXPECT_LT(r.epochs.back().train_loss, 0.5 * r.epochs.front().train_loss);
    EXPECT_EQ(r.epochs.back().val.total, 200u);
    EXPECT_GE(r.epochs.back().val.accuracy, 95.0);
    EXPECT_LT(before.accuracy, 60.0) << "untrained network is not already good";
    const hawx::zoo::EvalResult after = hawx::zoo::evaluate(*net, val, spec(), 64);
    EXPECT_LT(after.loss, before.loss);
    EXPECT_DOUBLE_EQ(after.accuracy, r.epochs.back().val.accuracy);
    EXPECT_FALSE(net->is_training()) << "left in eval mode";
    // Cosine schedule: the last step's learning rate is close to 0.
    EXPECT_LT(r.epochs.back().lr, 0.01 * quick().lr);
}

TEST(ZooTrain, SameSeedSameWeightsOtherSeedOtherWeights) {
    auto a = trained(5), b = trained(5), c = trained(6);
    const auto pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
    ASSERT_EQ(pa.size(), pb.size());
    bool all_equal_c = true;
    for (std::size_t i = 0; i < pa.size(); ++i) {
        EXPECT_TRUE(at::equal(pa[i].value(), pb[i].value())) << pa.keys()[i];
        all_equal_c = all_equal_c && at::equal(pa[i].value(), pc[i].value());
    }
    EXPECT_FALSE(all_equal_c);
}

TEST(ZooTrain, BatchNormModelTrainsAndTracksStatistics) {
    torch::manual_seed(1);
    hawx::zoo::ModelOptions o;
    o.in_channels = 1;
    o.input_size = 16;
    o.num_classes = 4;
    o.width = 0.125;
    auto net = hawx::zoo::make_model("resnet18", o);
    auto t = quick();
    t.epochs = 2;
    t.optimizer = "sgd";
    t.lr = 0.05;
    t.schedule = "step";
    const auto r = hawx::zoo::train(*net, data(), spec(), t);
    const auto& [conv, bn] = net->conv_bn_pairs().front();
    EXPECT_EQ(bn->num_batches_tracked.item<std::int64_t>(), 2 * ((700 + 31) / 32));
    EXPECT_FALSE(at::equal(bn->running_mean, at::zeros_like(bn->running_mean)));
    EXPECT_LT(r.epochs.back().train_loss, r.epochs.front().train_loss);
    EXPECT_GE(r.epochs.back().val.accuracy, 80.0);
}

TEST(ZooTrain, EvaluateCountsAndLimit) {
    auto net = trained(3);
    const hawx::zoo::EvalResult all = hawx::zoo::evaluate(*net, data(), spec(), 128);
    EXPECT_EQ(all.total, data().size());
    const hawx::zoo::EvalResult some = hawx::zoo::evaluate(*net, data(), spec(), 7, 50);
    EXPECT_EQ(some.total, 50u);
    // By hand on the same 50 images.
    torch::NoGradGuard no_grad;
    const at::Tensor logits = net->forward(hawx::to_input(data(), 0, 50, spec()));
    const auto correct = logits.argmax(1).eq(hawx::to_labels(data(), 0, 50)).sum().item<std::int64_t>();
    EXPECT_EQ(some.correct, static_cast<std::size_t>(correct));
    EXPECT_NEAR(some.loss, at::cross_entropy_loss(logits, hawx::to_labels(data(), 0, 50)).item<double>(), 1e-5);
    // per image, in order, across the batches of 7: the same flags as the hand computation
    const at::Tensor right = logits.argmax(1).eq(hawx::to_labels(data(), 0, 50));
    ASSERT_EQ(some.per_image.size(), 50u);
    for (std::size_t i = 0; i < 50; ++i)
        EXPECT_EQ(some.per_image[i] != 0, right[static_cast<std::int64_t>(i)].item<bool>()) << i;
    EXPECT_EQ(all.per_image.size(), data().size());
    EXPECT_EQ(static_cast<std::size_t>(std::count(all.per_image.begin(), all.per_image.end(), 1)), all.correct);
}

TEST(ZooTrain, BadOptionsAndLabelsAreErrors) {
    auto net = hawx::zoo::make_model("lenet5", lenet_opts());
    auto t = quick();
    t.optimizer = "rmsprop";
    std::string e = hawx::test::error_of<hawx::Error>([&] { hawx::zoo::train(*net, data(), spec(), t); });
    EXPECT_NE(e.find("unknown optimizer 'rmsprop'"), std::string::npos) << e;
    t = quick();
    t.val_size = 900;
    e = hawx::test::error_of<hawx::Error>([&] { hawx::zoo::train(*net, data(), spec(), t); });
    EXPECT_NE(e.find("leaves no training images"), std::string::npos) << e;
    hawx::zoo::ModelOptions two = lenet_opts();
    two.num_classes = 2;
    auto small = hawx::zoo::make_model("lenet5", two);
    e = hawx::test::error_of<hawx::Error>([&] { hawx::zoo::train(*small, data(), spec(), quick()); });
    EXPECT_NE(e.find("is outside the 2 classes of lenet5"), std::string::npos) << e;
    e = hawx::test::error_of<hawx::Error>([&] { hawx::zoo::evaluate(*net, data(), spec(), 0); });
    EXPECT_NE(e.find("batch size"), std::string::npos) << e;
}

TEST(ZooProgress, RendersFractionStatusAndEta) {
    hawx::zoo::ProgressBar bar(200, "train", /*enabled=*/false);
    EXPECT_FALSE(bar.enabled());
    bar.step(50, "loss 0.50");
    std::string line = bar.render();
    EXPECT_EQ(line.rfind("train [======>", 0), 0u) << line;
    EXPECT_NE(line.find(" 25% 50/200"), std::string::npos) << line;
    EXPECT_NE(line.find("loss 0.50"), std::string::npos) << line;
    EXPECT_NE(line.find("ETA "), std::string::npos) << line;
    bar.step(1000);
    EXPECT_EQ(bar.done(), 200u) << "clamped at the total";
    bar.finish("done");
    line = bar.render();
    EXPECT_NE(line.find("100% 200/200  done"), std::string::npos) << line;
    EXPECT_EQ(line.find("ETA"), std::string::npos) << line;
    EXPECT_EQ(hawx::zoo::ProgressBar::format_duration(7), "0:07");
    EXPECT_EQ(hawx::zoo::ProgressBar::format_duration(750), "12:30");
    EXPECT_EQ(hawx::zoo::ProgressBar::format_duration(3723), "1:02:03");
}

}  // namespace
