#pragma once
// Per-block cost rows in the table format of Accelergy's table-based plug-in, so block costs
// can feed Timeloop/Accelergy. A table is a CSV file named after the component class
// (`<class>.csv`) whose header holds the attribute names, the action name column and the
// `energy` column: here `technology,latency,datawidth,num_pipeline_stages,action,energy,area`,
// as in the plug-in's intmultiplier template. Units: energy in pJ per action, area in um^2,
// latency with its unit ("1.48ns").
#include <string>
#include <vector>

#include <hawx/sdk/block.hpp>

namespace hawx {

struct AccelergyOptions {
    std::string technology = "45nm";      ///< EvoApproxLib figures are PDK45
    int datawidth = 8;
    int num_pipeline_stages = 1;
    std::string action = "mult_random";   ///< the action name Accelergy's multiplier classes use
};

struct AccelergyRow {
    std::string technology;
    std::string latency;  ///< e.g. "1.48ns"
    int datawidth = 8;
    int num_pipeline_stages = 1;
    std::string action;
    double energy_pj = 0;
    double area_um2 = 0;
};

/// The header line (without newline).
inline constexpr const char* kAccelergyHeader = "technology,latency,datawidth,num_pipeline_stages,action,energy,area";

/// The row of one block: energy = cost.energy_pj when given, else power_mw * delay_ns (pJ);
/// latency = delay_ns. Throws hawx::Error naming `block` when the delay is not positive
/// or the energy cannot be derived.
AccelergyRow accelergy_row(const std::string& block, const HardwareCost& cost, const AccelergyOptions& options = {});

/// Header plus one line per row.
std::string accelergy_table(const std::vector<AccelergyRow>& rows);

/// Writes one table per block, `<dir>/<name>.csv` (the class name is the block's short name),
/// atomically; returns the paths. Throws naming the block or file.
std::vector<std::string> write_accelergy_tables(const std::string& dir, const std::vector<std::string>& names,
                                                const std::vector<HardwareCost>& costs,
                                                const AccelergyOptions& options = {});

}  // namespace hawx
