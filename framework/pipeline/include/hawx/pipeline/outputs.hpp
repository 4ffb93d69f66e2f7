#pragma once
/// \file
/// Step 4's files: results.json, table2.csv (one line per answer and accelerator), the Pareto
/// sets and all evaluated points per accelerator, and the per-block Accelergy rows; then the
/// run folder is marked complete. docs/report.md lists every file and column.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hawx/pipeline/cost_model.hpp"
#include "hawx/pipeline/experiment.hpp"
#include "hawx/pipeline/profiling.hpp"
#include "hawx/pipeline/run_folder.hpp"
#include "hawx/pipeline/searches.hpp"
#include "hawx/pipeline/model_data.hpp"

namespace hawx::pipeline {

/// table2.csv: one line per search answer and accelerator; `objective` names the accelerator
/// the search minimized, `costs_more_than_exact` flags a normalized power above 1 (an answer
/// that saves nothing on that accelerator).
std::string table2_csv(const std::vector<SearchAnswer>& answers);

/// pareto_<accelerator>.json/.csv and evaluated_<accelerator>.csv: every configuration any
/// search evaluated (validation accuracy), power and area normalized to the all-exact design
/// when the blocks include an exact multiplier. `accuracy_on` (SearchRuns::accuracy_on; empty
/// with one accelerator): each accelerator's accuracy of what it runs, instead of the search's.
void write_pareto_sets(const RunFolder& folder, CostModel& costs,
                       const std::vector<std::pair<std::string, EvaluationRecord>>& evaluated,
                       const std::vector<std::map<std::string, double>>& accuracy_on = {});

/// What results.json records beyond the searches.
struct RunSummary {
    const Workbench* workbench = nullptr;
    const Baselines* baselines = nullptr;
    const ProfileRun* profile = nullptr;
    std::string metric_id;
};

/// Writes every output file and marks the folder complete.
void write_outputs(const Experiment& ex, const RunFolder& folder, CostModel& costs, const RunSummary& summary,
                   const SearchRuns& runs);

}  // namespace hawx::pipeline
