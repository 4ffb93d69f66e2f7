#include "hawx/framework/accelergy.hpp"

#include <cstdio>
#include <filesystem>

#include <hawx/sdk/error.hpp>

#include "hawx/framework/io.hpp"

namespace hawx {

namespace {
// 12 significant digits: products such as 0.425 mW x 1.48 ns print as 0.629, not 0.6290000000000001.
std::string number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.12g", v);
    return buf;
}
}  // namespace

AccelergyRow accelergy_row(const std::string& block, const HardwareCost& cost, const AccelergyOptions& o) {
    if (!(cost.delay_ns > 0))
        throw Error("accelergy: block " + block + " has no positive delay for the latency column");
    AccelergyRow r;
    r.technology = o.technology;
    r.latency = number(cost.delay_ns) + "ns";
    r.datawidth = o.datawidth;
    r.num_pipeline_stages = o.num_pipeline_stages;
    r.action = o.action;
    r.energy_pj = cost.energy_pj ? *cost.energy_pj : cost.power_mw * cost.delay_ns;  // mW * ns = pJ
    r.area_um2 = cost.area_um2;
    if (!(r.energy_pj >= 0) || !(r.area_um2 >= 0))
        throw Error("accelergy: block " + block + " has a negative or undefined energy or area");
    return r;
}

std::string accelergy_table(const std::vector<AccelergyRow>& rows) {
    std::string out = std::string(kAccelergyHeader) + "\n";
    for (const auto& r : rows)
        out += r.technology + "," + r.latency + "," + std::to_string(r.datawidth) + "," +
               std::to_string(r.num_pipeline_stages) + "," + r.action + "," + number(r.energy_pj) + "," +
               number(r.area_um2) + "\n";
    return out;
}

std::vector<std::string> write_accelergy_tables(const std::string& dir, const std::vector<std::string>& names,
                                                const std::vector<HardwareCost>& costs,
                                                const AccelergyOptions& options) {
    if (names.size() != costs.size())
        throw Error("accelergy: " + std::to_string(names.size()) + " block names but " +
                    std::to_string(costs.size()) + " costs");
    std::vector<std::string> rows;
    std::vector<std::string> paths;
    for (std::size_t i = 0; i < names.size(); ++i) rows.push_back(accelergy_table({accelergy_row(names[i], costs[i], options)}));
    for (std::size_t i = 0; i < names.size(); ++i) {
        const std::string p = (std::filesystem::path(dir) / (names[i] + ".csv")).string();
        write_file_atomic(p, rows[i]);
        paths.push_back(p);
    }
    return paths;
}

}  // namespace hawx
