// The paper's configuration notation: parsing, the filter split rule, round trips, errors.
#include <gtest/gtest.h>

#include <hawx/engine/conversions.hpp>
#include <hawx/sdk/error.hpp>

using namespace hawx;
using namespace hawx::engine;

namespace {

std::vector<LayerDesc> layers(std::size_t n, std::int64_t filters) {
    std::vector<LayerDesc> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i].index = static_cast<int>(i + 1), v[i].out_channels = filters;
    return v;
}
const std::vector<std::string> kNames = {"KV6", "KV8", "KV9", "L2N", "KVP", "L2J"};

std::string error_of(const std::string& text, std::size_t n = 11, std::int64_t f = 5) {
    try {
        parse_assignment(text, kNames, layers(n, f));
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(ConfigString, ParsesThePapersLayerString) {
    const auto m = parse_assignment("1-3,8:KV6 4:KV8 5-7,10-11:KV9 9:L2N", kNames, layers(11, 4));
    const std::vector<int> want = {0, 0, 0, 1, 2, 2, 2, 0, 3, 2, 2};
    ASSERT_EQ(m.layers.size(), want.size());
    for (std::size_t l = 0; l < want.size(); ++l) {
        EXPECT_EQ(m.layers[l].granularity, Granularity::Layer);
        EXPECT_EQ(m.layers[l].units, std::vector<int>{want[l]}) << "layer " << l + 1;
    }
}

TEST(ConfigString, FilterSplitGivesTheExtraFiltersToTheFirstParts) {
    const auto m = parse_assignment("1-2:(KVP,L2J) 3-5:KVP", kNames, layers(5, 5));
    EXPECT_EQ(m.layers[0].granularity, Granularity::Filter);
    EXPECT_EQ(m.layers[0].units, (std::vector<int>{4, 4, 4, 5, 5}));
    EXPECT_EQ(m.layers[1].units, (std::vector<int>{4, 4, 4, 5, 5}));
    EXPECT_EQ(m.layers[4].units, std::vector<int>{4});
    const auto three = parse_assignment("*:(KV6,KV8,KV9)", kNames, layers(1, 8));
    EXPECT_EQ(three.layers[0].units, (std::vector<int>{0, 0, 0, 1, 1, 1, 2, 2}));
    const auto exact = parse_assignment("1:[KV6,L2N,KV6] *:KV9", kNames, {layers(2, 3)});
    EXPECT_EQ(exact.layers[0].units, (std::vector<int>{0, 3, 0}));
    EXPECT_EQ(exact.layers[1].units, std::vector<int>{2});
}

TEST(ConfigString, FormatRoundTrips) {
    for (const std::string s : {"1-3,8:KV6 4:KV8 5-7,10-11:KV9 9:L2N", "1-2:(KVP,L2J) 3-11:KVP",
                                "1:[KV6,L2N,KV6,KV6,KV6] 2-11:KV9"}) {
        const auto m = parse_assignment(s, kNames, layers(11, 5));
        EXPECT_EQ(format_assignment(m, kNames), s);
    }
}

TEST(ConfigString, ErrorsNameTheItemAndTheProblem) {
    EXPECT_NE(error_of("1-11:XYZ").find("unknown block 'XYZ'"), std::string::npos);
    EXPECT_NE(error_of("1-5:KV6 5-11:KV8").find("layer 5 is given twice"), std::string::npos);
    EXPECT_NE(error_of("1-10:KV6").find("layer 11 has no block"), std::string::npos);
    EXPECT_NE(error_of("1-12:KV6").find("layer 12 outside 1..11"), std::string::npos);
    EXPECT_NE(error_of("0-11:KV6").find("outside"), std::string::npos);
    EXPECT_NE(error_of("KV6").find("expected LAYERS:BLOCK"), std::string::npos);
    EXPECT_NE(error_of("*:(KV6,KV8,KV9,L2N,KVP,L2J)").find("6 blocks for layer 1 with 5 filters"), std::string::npos);
    EXPECT_NE(error_of("*:[KV6,KV8]").find("has 5 filters, the list names 2"), std::string::npos);
    EXPECT_NE(error_of("*:(KV6").find("unbalanced"), std::string::npos);
    EXPECT_NE(error_of("3-1:KV6 *:KV8").find("empty range"), std::string::npos);
    EXPECT_NE(error_of("").find("empty"), std::string::npos);
}

}  // namespace
