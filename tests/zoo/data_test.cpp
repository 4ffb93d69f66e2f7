// Dataset -> tensor transforms and the train/validation split.
#include <gtest/gtest.h>

#include <cmath>

#include "hawx/sdk/error.hpp"
#include "hawx/data/tensor.hpp"
#include "zoo_test_util.hpp"

using hawx::Dataset;
using hawx::InputSpec;

namespace {

Dataset ramp(int n, int c, int h, int w) {
    Dataset d;
    d.name = "ramp";
    d.channels = c;
    d.height = h;
    d.width = w;
    d.num_classes = 3;
    for (int i = 0; i < n; ++i) {
        for (int k = 0; k < c * h * w; ++k) d.images.push_back(static_cast<std::uint8_t>((i * 37 + k * 11) % 256));
        d.labels.push_back(i % 3);
    }
    return d;
}

InputSpec spec(int channels, int size, std::vector<float> mean = {0.0f}, std::vector<float> std = {1.0f}) {
    InputSpec s;
    s.channels = channels;
    s.size = size;
    s.mean = std::move(mean);
    s.std = std::move(std);
    return s;
}

float pixel(const Dataset& d, int i, int c, int y, int x) {
    return d.images[static_cast<std::size_t>(((i * d.channels + c) * d.height + y) * d.width + x)] / 255.0f;
}

TEST(ZooData, SameSizeScalesAndNormalisesPerChannel) {
    const Dataset d = ramp(3, 3, 5, 5);
    const at::Tensor x = hawx::to_input(d, 1, 3, spec(3, 5, {0.1f, 0.2f, 0.3f}, {0.5f, 0.25f, 2.0f}));
    ASSERT_EQ(x.sizes(), (at::IntArrayRef{2, 3, 5, 5}));
    const float mean[] = {0.1f, 0.2f, 0.3f}, stdv[] = {0.5f, 0.25f, 2.0f};
    for (int i = 0; i < 2; ++i)
        for (int c = 0; c < 3; ++c)
            for (int y = 0; y < 5; ++y)
                for (int xx = 0; xx < 5; ++xx)
                    EXPECT_FLOAT_EQ(x[i][c][y][xx].item<float>(), (pixel(d, i + 1, c, y, xx) - mean[c]) / stdv[c]);
}

TEST(ZooData, PadsTwentyEightToThirtyTwoCentred) {
    const Dataset d = ramp(2, 1, 28, 28);
    const at::Tensor x = hawx::to_input(d, 0, 2, spec(1, 32, {0.5f}, {0.25f}));
    ASSERT_EQ(x.sizes(), (at::IntArrayRef{2, 1, 32, 32}));
    const float border = (0.0f - 0.5f) / 0.25f;  // zero padding happens before normalisation
    for (int k = 0; k < 32; ++k) {
        EXPECT_FLOAT_EQ(x[1][0][0][k].item<float>(), border);
        EXPECT_FLOAT_EQ(x[1][0][1][k].item<float>(), border);
        EXPECT_FLOAT_EQ(x[1][0][k][31].item<float>(), border);
        EXPECT_FLOAT_EQ(x[1][0][30][k].item<float>(), border);
    }
    for (int y = 0; y < 28; y += 3)
        for (int xx = 0; xx < 28; xx += 5)
            EXPECT_FLOAT_EQ(x[1][0][y + 2][xx + 2].item<float>(), (pixel(d, 1, 0, y, xx) - 0.5f) / 0.25f);
}

// Half-pixel bilinear sampling (PyTorch align_corners=false), written out by hand.
float bilinear(const Dataset& d, int i, int c, int oy, int ox, int out) {
    auto src = [](int o, int in, int outn) {
        const double s = std::max(0.0, (o + 0.5) * in / outn - 0.5);
        const int i0 = std::min(static_cast<int>(s), in - 1);
        const int i1 = std::min(i0 + 1, in - 1);
        return std::make_tuple(i0, i1, s - i0);
    };
    const auto [y0, y1, fy] = src(oy, d.height, out);
    const auto [x0, x1, fx] = src(ox, d.width, out);
    const double top = pixel(d, i, c, y0, x0) * (1 - fx) + pixel(d, i, c, y0, x1) * fx;
    const double bot = pixel(d, i, c, y1, x0) * (1 - fx) + pixel(d, i, c, y1, x1) * fx;
    return static_cast<float>(top * (1 - fy) + bot * fy);
}

TEST(ZooData, ResizesBilinearWithHalfPixelCentres) {
    const Dataset d = ramp(1, 1, 28, 28);
    for (int out : {20, 40, 33}) {  // down, up by more than 8, up by an odd amount
        const at::Tensor x = hawx::to_input(d, 0, 1, spec(1, out));
        ASSERT_EQ(x.size(2), out);
        for (int y = 0; y < out; y += 3)
            for (int xx = 0; xx < out; xx += 2)
                EXPECT_NEAR(x[0][0][y][xx].item<float>(), bilinear(d, 0, 0, y, xx, out), 1e-5)
                    << out << " " << y << " " << xx;
    }
}

TEST(ZooData, ChannelsRepeatOrAverage) {
    const Dataset gray = ramp(2, 1, 6, 6);
    const at::Tensor x3 = hawx::to_input(gray, 0, 2, spec(3, 6));
    ASSERT_EQ(x3.size(1), 3);
    EXPECT_TRUE(at::equal(x3.select(1, 0), x3.select(1, 2)));
    EXPECT_FLOAT_EQ(x3[1][1][2][3].item<float>(), pixel(gray, 1, 0, 2, 3));
    const Dataset rgb = ramp(2, 3, 6, 6);
    const at::Tensor x1 = hawx::to_input(rgb, 0, 2, spec(1, 6));
    ASSERT_EQ(x1.size(1), 1);
    EXPECT_NEAR(x1[1][0][4][1].item<float>(),
                (pixel(rgb, 1, 0, 4, 1) + pixel(rgb, 1, 1, 4, 1) + pixel(rgb, 1, 2, 4, 1)) / 3, 1e-6);
    const std::string e = hawx::test::error_of<hawx::Error>([&] { hawx::to_input(rgb, 0, 1, spec(2, 6)); });
    EXPECT_NE(e.find("dataset 'ramp': cannot turn 3-channel images into 2-channel inputs"), std::string::npos) << e;
}

TEST(ZooData, IndexedBatchesAndLabels) {
    const Dataset d = ramp(5, 1, 4, 4);
    const at::Tensor x = hawx::to_input(d, std::vector<std::size_t>{4, 0, 4}, spec(1, 4));
    EXPECT_TRUE(at::equal(x[0], hawx::to_input(d, 4, 5, spec(1, 4))[0]));
    EXPECT_TRUE(at::equal(x[1], hawx::to_input(d, 0, 1, spec(1, 4))[0]));
    const at::Tensor y = hawx::to_labels(d, std::vector<std::size_t>{4, 0, 2});
    EXPECT_EQ(y.scalar_type(), at::kLong);
    EXPECT_EQ(y[0].item<std::int64_t>(), 1);
    EXPECT_EQ(y[2].item<std::int64_t>(), 2);
    EXPECT_EQ(hawx::to_labels(d, 1, 4).size(0), 3);
    const std::string e = hawx::test::error_of<hawx::Error>([&] { hawx::to_input(d, 3, 9, spec(1, 4)); });
    EXPECT_NE(e.find("dataset 'ramp': image range [3, 9)"), std::string::npos) << e;
}

TEST(ZooData, SplitHoldsOutTheLastImages) {
    const Dataset d = ramp(10, 1, 3, 3);
    const auto [train, val] = hawx::split_train_val(d, 4);
    ASSERT_EQ(train.size(), 6u);
    ASSERT_EQ(val.size(), 4u);
    EXPECT_EQ(val.labels.front(), d.labels[6]);
    EXPECT_EQ(std::vector<std::uint8_t>(val.images.begin(), val.images.begin() + 9),
              std::vector<std::uint8_t>(d.images.begin() + 6 * 9, d.images.begin() + 7 * 9));
    EXPECT_EQ(train.images.size(), 6u * 9u);
    EXPECT_EQ(val.name, "ramp:val");
    const std::string e = hawx::test::error_of<hawx::Error>([&] { hawx::split_train_val(d, 10); });
    EXPECT_NE(e.find("validation size 10 leaves no training images"), std::string::npos) << e;
}

TEST(ZooData, SpecFromDataHasTheDataStatistics) {
    Dataset d;
    d.name = "bw";
    d.channels = 1;
    d.height = 1;
    d.width = 2;
    d.num_classes = 1;
    d.images = {0, 255, 0, 255};
    d.labels = {0, 0};
    const InputSpec s = hawx::input_spec_from_data(d, 3, 8);
    ASSERT_EQ(s.mean.size(), 3u);
    EXPECT_FLOAT_EQ(s.mean[2], 0.5f);
    EXPECT_FLOAT_EQ(s.std[0], 0.5f);
    // Normalised with its own statistics, the data has mean 0 and std 1.
    const Dataset r = ramp(20, 3, 8, 8);
    const InputSpec rs = hawx::input_spec_from_data(r, 3, 8);
    const at::Tensor x = hawx::to_input(r, 0, 20, rs);
    EXPECT_NEAR(x.select(1, 1).mean().item<double>(), 0.0, 1e-4);
    EXPECT_NEAR(x.select(1, 1).std(false).item<double>(), 1.0, 1e-3);
}

}  // namespace
