#pragma once
/// \file
/// The only caller of accelerator models (AcceleratorModel::evaluate): the hosting check, the
/// search objective, every accelerator's report of an answer, the points of the Pareto sets,
/// normalization to the all-exact design, and failures (named by accelerator, stopped or
/// skipped as exploration.on_error says). Without an accelerator, the cost of a fully
/// parallel network (SDK configuration_cost: one multiplier per weight) stands in, reported
/// as "weights" (accelerators.algorithm1 with count = weights gives the same figures).
#include <cstddef>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <hawx/sdk/accelerator.hpp>
#include <hawx/sdk/search.hpp>

#include "hawx/framework/manifest.hpp"
#include "hawx/pipeline/experiment.hpp"

namespace hawx::pipeline {

class CostModel {
public:
    /// The experiment's accelerators (in manifest order) on a network of `layers`.
    CostModel(const Experiment& ex, std::vector<LayerShape> layers);

    /// Refuses a network an accelerator cannot host: hawx::Error "<manifest>: <accelerator
    /// entry>: cannot host <model>: <its message>".
    void check_hosts(const std::string& model_name) const;

    /// Accelerators costed (at least one: "weights" when the manifest names none).
    std::size_t size() const { return names_.size(); }
    const std::string& name(std::size_t a) const { return names_[a]; }
    bool has_accelerators() const { return !models_.empty(); }

    /// The cost of `c` on accelerator `a` (power, area, latency; accuracy NaN). A model that
    /// throws or returns a non-finite power or area: with on_error = stop a hawx::Error naming
    /// the accelerator and the configuration; with skip, status Skipped and no costs (printed
    /// once per configuration and counted in skipped()).
    /// `realized`, when given, receives the configuration the accelerator runs after its
    /// mapping (regrouping units that share a multiplier); `c` itself when nothing changes,
    /// there is no accelerator, or the model failed.
    Outcome cost(std::size_t a, const Configuration& c, Configuration* realized = nullptr);
    /// The configuration accelerator `a` runs for `c` (see cost()).
    Configuration realized(std::size_t a, const Configuration& c) const;
    /// Accelerator `a`'s unit groups at granularity `g` (AcceleratorModel::unit_groups; empty
    /// without an accelerator). Throws hawx::Error naming the accelerator when it returns
    /// groups of the wrong shape.
    std::vector<std::vector<std::int64_t>> unit_groups(std::size_t a, Granularity g) const;
    /// cost() normalized to the all-exact design (power and area as fractions), or raw when
    /// the experiment has no exact block. Status Skipped when the model fails (skip).
    Outcome normalized(std::size_t a, const Configuration& c);

    /// Every accelerator's report of `c` as the results.json array: realized configuration,
    /// changes, power, area, latency, energy, utilization, and power_norm / area_norm.
    nlohmann::json reports(const Configuration& c);

    /// Configurations skipped so far because a model failed on them.
    std::size_t skipped() const { return failed_.size(); }
    /// Records a configuration skipped for another reason (a non-finite accuracy); true the
    /// first time.
    bool note_skipped(const std::string& key) { return failed_.insert(key).second; }

    const std::vector<LayerShape>& layers() const { return layers_; }

private:
    struct Costed {
        AcceleratorReport report;
        bool ok = false;
        std::string error;
    };
    Costed evaluate(std::size_t a, const Configuration& c) const;
    Outcome fail(std::size_t a, const Configuration& c, const std::string& error);
    const std::pair<double, double>& exact_design(std::size_t a);

    const Experiment& ex_;
    std::vector<LayerShape> layers_;
    std::vector<std::string> names_, labels_, wheres_;
    std::vector<std::shared_ptr<AcceleratorModel>> models_;
    std::vector<std::optional<std::pair<double, double>>> exact_;  // per accelerator: all-exact power, area
    std::set<std::string> failed_;
};

/// The experiment's configuration with every unit of every layer on `block`.
Configuration uniform_configuration(const std::vector<LayerShape>& layers, Granularity g, int block);

}  // namespace hawx::pipeline
