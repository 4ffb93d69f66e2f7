#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "hawx/framework/accelergy.hpp"
#include "test_util.hpp"

TEST(Accelergy, HeaderAndRowsOfThePaperBlocks) {
    const auto names = hawx::test::paper_names();
    const auto costs = hawx::test::paper_costs();
    std::vector<hawx::AccelergyRow> rows;
    for (std::size_t i = 0; i < names.size(); ++i) rows.push_back(hawx::accelergy_row(names[i], costs[i]));
    // energy = power x delay: 0.425 mW x 1.48 ns = 0.629 pJ; 0.126 x 0.94 = 0.11844 pJ.
    EXPECT_EQ(hawx::accelergy_table({rows[0], rows[5]}),
              "technology,latency,datawidth,num_pipeline_stages,action,energy,area\n"
              "45nm,1.48ns,8,1,mult_random,0.629,729.8\n"
              "45nm,0.94ns,8,1,mult_random,0.11844,284.9\n");
    hawx::HardwareCost given = costs[0];
    given.energy_pj = 0.5;
    hawx::AccelergyOptions o;
    o.technology = "28nm";
    o.num_pipeline_stages = 2;
    const auto r = hawx::accelergy_row("X", given, o);
    EXPECT_EQ(hawx::accelergy_table({r}), std::string(hawx::kAccelergyHeader) + "\n28nm,1.48ns,8,2,mult_random,0.5,729.8\n");
    hawx::HardwareCost none;
    try {
        hawx::accelergy_row("Z", none);
        FAIL();
    } catch (const hawx::Error& e) {
        EXPECT_EQ(std::string(e.what()), "accelergy: block Z has no positive delay for the latency column");
    }
}

TEST(Accelergy, OneTablePerBlock) {
    hawx::test::TempDir dir;
    const auto paths =
        hawx::write_accelergy_tables(dir.str(), {"KV6", "L2N"}, {hawx::test::paper_costs()[0], hawx::test::paper_costs()[5]});
    ASSERT_EQ(paths.size(), 2u);
    EXPECT_EQ(paths[1], dir.str() + "/L2N.csv");
    std::ifstream in(paths[1]);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), "technology,latency,datawidth,num_pipeline_stages,action,energy,area\n"
                        "45nm,0.94ns,8,1,mult_random,0.11844,284.9\n");
}
