#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "hawx/framework/pareto.hpp"
#include "test_util.hpp"

using hawx::ParetoPoint;
using hawx::ParetoSet;

namespace {
std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
}  // namespace

TEST(Pareto, MatchesBruteForceDominanceOnRandomPoints) {
    for (unsigned seed : {1u, 2u, 3u, 4u}) {
        std::mt19937 rng(seed);
        // A coarse grid (seed 1, 2) makes ties and equal points common; a fine one (3, 4) rare.
        const int grid = seed <= 2 ? 6 : 100000;
        std::uniform_int_distribution<int> u(0, grid);
        std::vector<ParetoPoint> pts;
        for (int i = 0; i < 300; ++i) {
            // Power and area grow with accuracy, as for real configurations, so the front is wide.
            const int a = u(rng);
            pts.push_back({double(a) / grid, double(a + u(rng)) / grid, double(a + u(rng)) / grid,
                           "c" + std::to_string(i), {}});
        }
        ParetoSet set;
        for (const auto& p : pts) set.add(p);
        // Naive reference: kept iff nothing dominates it and no earlier point has the same objectives.
        std::set<std::string> expected, got;
        for (std::size_t i = 0; i < pts.size(); ++i) {
            bool keep = true;
            for (std::size_t j = 0; j < pts.size() && keep; ++j) {
                const auto &a = pts[j], &b = pts[i];
                const bool dom = a.accuracy >= b.accuracy && a.power <= b.power && a.area <= b.area &&
                                 (a.accuracy > b.accuracy || a.power < b.power || a.area < b.area);
                const bool same_earlier =
                    j < i && a.accuracy == b.accuracy && a.power == b.power && a.area == b.area;
                if (dom || same_earlier) keep = false;
            }
            if (keep) expected.insert(pts[i].configuration);
        }
        for (const auto& p : set.points()) got.insert(p.configuration);
        EXPECT_EQ(got, expected) << "seed " << seed;
        EXPECT_GT(expected.size(), 1u);
        const auto sorted = set.points();
        for (std::size_t i = 1; i < sorted.size(); ++i) EXPECT_GE(sorted[i - 1].accuracy, sorted[i].accuracy);
    }
}

TEST(Pareto, AddReportsMembershipAndEvicts) {
    ParetoSet s;
    EXPECT_TRUE(s.add({90, 1.0, 1.0, "a", {}}));
    EXPECT_FALSE(s.add({89, 1.0, 1.0, "dominated", {}}));
    EXPECT_FALSE(s.add({90, 1.0, 1.0, "same", {}}));
    EXPECT_TRUE(s.add({88, 0.5, 1.0, "cheaper", {}}));
    EXPECT_TRUE(s.add({91, 0.5, 0.9, "best", {}}));  // dominates both
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s.points()[0].configuration, "best");
    try {
        s.add({std::nan(""), 1, 1, "x", {}});
        FAIL();
    } catch (const hawx::Error& e) {
        EXPECT_EQ(std::string(e.what()), "pareto: point 'x' has a non-finite accuracy, power or area");
    }
    try {
        s.add({1, 1, 1, "y", {{"power", 2}}});
        FAIL();
    } catch (const hawx::Error& e) {
        EXPECT_EQ(std::string(e.what()), "pareto: point 'y': extra field 'power' clashes with an objective");
    }
}

TEST(Pareto, JsonAndCsvFiles) {
    ParetoSet s;
    s.add({97.80, 1.0, 1.0, "1-5:KV6", {{"accelerator", "dataflow"}, {"latency_cycles", 7840}}});
    s.add({95.58, 0.296, 0.390, "1-2:(KVP,L2J) 3-5:KVP", {{"accelerator", "dataflow"}}});
    hawx::test::TempDir dir;
    s.write_csv(dir.str() + "/pareto.csv");
    s.write_json(dir.str() + "/pareto.json");
    EXPECT_EQ(slurp(dir.str() + "/pareto.csv"),
              "accuracy,power,area,configuration,accelerator,latency_cycles\n"
              "97.8,1,1,1-5:KV6,dataflow,7840\n"
              "95.58,0.296,0.39,\"1-2:(KVP,L2J) 3-5:KVP\",dataflow,\n");
    const auto j = nlohmann::json::parse(slurp(dir.str() + "/pareto.json"));
    EXPECT_EQ(j["objectives"]["accuracy"], "max");
    ASSERT_EQ(j["points"].size(), 2u);
    EXPECT_EQ(j["points"][1]["configuration"], "1-2:(KVP,L2J) 3-5:KVP");
    EXPECT_DOUBLE_EQ(j["points"][1]["power"].get<double>(), 0.296);
    EXPECT_EQ(j["points"][0]["latency_cycles"], 7840);
}
