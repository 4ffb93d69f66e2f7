// The paper's configuration notation on SDK Configurations (framework/config_string.hpp):
// canonical strings, the filter split rule, the exact per-unit form, round trips.
#include <gtest/gtest.h>

#include <hawx/framework/config_string.hpp>
#include <hawx/sdk/error.hpp>
#include <hawx/sdk/search.hpp>

#include <set>

using namespace hawx;

namespace {

const std::vector<std::string> kNames = {"KV6", "KV8", "KV9", "L2N", "KVP", "L2J"};

std::vector<LayerShape> shapes(std::vector<std::int64_t> filters, std::int64_t fan_in = 3) {
    std::vector<LayerShape> v;
    for (auto f : filters) {
        LayerShape s;
        s.out_channels = f;
        s.fan_in = fan_in;
        v.push_back(s);
    }
    return v;
}

TEST(ConfigNotation, LayerLevelPaperString) {
    const auto c = parse_configuration("1-3,8:KV6 4:KV8 5-7,10-11:KV9 9:L2N", kNames, shapes(std::vector<std::int64_t>(11, 4)),
                                       Granularity::Layer);
    const std::vector<int> want = {0, 0, 0, 1, 2, 2, 2, 0, 3, 2, 2};
    ASSERT_EQ(c.blocks.size(), 11u);
    for (std::size_t l = 0; l < 11; ++l) EXPECT_EQ(c.blocks[l], std::vector<int>{want[l]}) << l;
    EXPECT_EQ(format_configuration(c, kNames), "1-3,8:KV6 4:KV8 5-7,10-11:KV9 9:L2N");
}

TEST(ConfigNotation, FilterSplitAndUniformLayers) {
    const auto c = parse_configuration("1-2:(KVP,L2J) 3-5:KVP", kNames, shapes({5, 5, 4, 4, 2}), Granularity::Filter);
    EXPECT_EQ(c.blocks[0], (std::vector<int>{4, 4, 4, 5, 5}));  // 5 filters, 2 parts: 3 + 2
    EXPECT_EQ(c.blocks[1], (std::vector<int>{4, 4, 4, 5, 5}));
    EXPECT_EQ(c.blocks[2], (std::vector<int>{4, 4, 4, 4}));     // a name fills every filter
    EXPECT_EQ(c.blocks[4], (std::vector<int>{4, 4}));
    EXPECT_EQ(format_configuration(c, kNames), "1-2:(KVP,L2J) 3-5:KVP");
    // the split rule: 8 filters into 3 parts are 3 + 3 + 2
    for (std::int64_t f = 0; f < 8; ++f) EXPECT_EQ(split_part(f, 8, 3), static_cast<std::size_t>(f < 3 ? 0 : f < 6 ? 1 : 2));
}

TEST(ConfigNotation, ExactPerFilterFormWhenNotAnEqualSplit) {
    Configuration c;
    c.granularity = Granularity::Filter;
    c.blocks = {{0, 3, 3}, {2, 2, 2}};
    const std::string s = format_configuration(c, kNames);
    EXPECT_EQ(s, "1:[KV6,L2N,L2N] 2:KV9");  // runs KV6, L2N would split 3 filters as 2 + 1
    const auto back = parse_configuration(s, kNames, shapes({3, 3}), Granularity::Filter);
    EXPECT_EQ(back.blocks, c.blocks);
    // runs that are an equal split take the short form, even when a block repeats
    c.blocks[0] = {0, 3, 0};
    EXPECT_EQ(format_configuration(c, kNames), "1:(KV6,L2N,KV6) 2:KV9");
}

TEST(ConfigNotation, RoundTripsEveryFilterAssignmentOfASmallNetwork) {
    // every assignment of 3 blocks to layers of 3 and 2 filters: string -> configuration is
    // the inverse of configuration -> string, and distinct configurations get distinct strings
    const auto layers = shapes({3, 2});
    std::set<std::string> strings;
    for (int code = 0; code < 243; ++code) {
        int v = code;
        Configuration c;
        c.granularity = Granularity::Filter;
        c.blocks = {{0, 0, 0}, {0, 0}};
        for (auto& layer : c.blocks)
            for (auto& b : layer) b = v % 3, v /= 3;
        const std::string s = format_configuration(c, kNames);
        EXPECT_TRUE(strings.insert(s).second) << s;
        EXPECT_EQ(parse_configuration(s, kNames, layers, Granularity::Filter).blocks, c.blocks) << s;
    }
    EXPECT_EQ(strings.size(), 243u);
}

TEST(ConfigNotation, OperationLevelUsesTheSameFormsOverWeightPositions) {
    // 2 filters x 3 weight positions = 6 units, filter-major
    const auto c = parse_configuration("1:(KV6,KV8) 2:[KV6,KV6,KV6,KV6,KV6,KV9]", kNames, shapes({2, 2}), Granularity::Operation);
    EXPECT_EQ(c.blocks[0], (std::vector<int>{0, 0, 0, 1, 1, 1}));
    EXPECT_EQ(c.blocks[1], (std::vector<int>{0, 0, 0, 0, 0, 2}));
    EXPECT_EQ(format_configuration(c, kNames), "1:(KV6,KV8) 2:[KV6,KV6,KV6,KV6,KV6,KV9]");
}

TEST(ConfigNotation, Errors) {
    const auto err = [](const std::string& text, Granularity g) {
        try {
            parse_configuration(text, kNames, shapes({5, 5}), g);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_NE(err("1:(KV6,KV8) 2:KV6", Granularity::Layer).find("layer 1 is split per filter, but the search is at layer"),
              std::string::npos);
    EXPECT_NE(err("1:[KV6] 2:KV6", Granularity::Filter).find("layer 1 has 5 filters, the list names 1"), std::string::npos);
    EXPECT_NE(err("1:[KV6] 2:KV6", Granularity::Operation).find("layer 1 has 15 operations, the list names 1"),
              std::string::npos);
    EXPECT_NE(err("1-2:XX", Granularity::Layer).find("unknown block 'XX'"), std::string::npos);
    EXPECT_NE(err("1:KV6", Granularity::Layer).find("layer 2 has no block"), std::string::npos);
    Configuration bad;
    bad.blocks = {{9}};
    EXPECT_THROW(format_configuration(bad, kNames), Error);
}

}  // namespace
