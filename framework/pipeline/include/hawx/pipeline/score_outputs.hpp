#pragma once
// The files of a scoring run (scores.json and the CSVs), shared by `hawx score` and `hawx run`.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "hawx/engine/score_distribution.hpp"
#include "hawx/engine/scoring.hpp"

namespace hawx::pipeline {

struct ScoreReport {
    nlohmann::json header = nlohmann::json::object();  ///< copied first into scores.json (checkpoint, model, ...)
    std::string metric;                                ///< library.component
    std::vector<std::string> block_names;              ///< library order
    engine::ScoreTable scores;
    /// hawx(o) distributions; absent when the profile had no backward pass.
    std::optional<std::vector<engine::ScoreDistribution>> distributions;
    engine::DistributionOptions distribution_options;
    std::vector<double> accuracy;  ///< per block, percent; empty when not measured, NaN where not measured
    std::optional<double> spearman;  ///< rho(model mean, accuracy) over the measured blocks
};

/// scores.json: the header, then metric, blocks, inputs, model_scores, layers (filter means and
/// sums per block), distributions (edges, quantile levels, rows) or null, spearman.
nlohmann::json scores_json(const ScoreReport& r);

/// Writes into the existing folder `run`, each file atomically: scores.json,
/// scores_model.csv, scores_layer.csv, scores_filter.csv, scores_operation.csv (when the table
/// has weight-position scores) and scores_distribution.csv (when there are distributions).
/// Returns the names written.
std::vector<std::string> write_score_outputs(const std::string& run, const ScoreReport& r);

}  // namespace hawx::pipeline
