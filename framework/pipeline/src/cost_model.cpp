#include "hawx/pipeline/cost_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "hawx/framework/config_string.hpp"
#include "hawx/sdk/error.hpp"

namespace hawx::pipeline {

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

Configuration uniform_configuration(const std::vector<LayerShape>& layers, Granularity g, int block) {
    Configuration c;
    c.granularity = g;
    for (const auto& l : layers) c.blocks.emplace_back(static_cast<std::size_t>(unit_count(l, g)), block);
    return c;
}

CostModel::CostModel(const Experiment& ex, std::vector<LayerShape> layers) : ex_(ex), layers_(std::move(layers)) {
    const auto& inst = ex.setup->instances.accelerators;
    const auto& res = ex.resolved().accelerators;
    for (std::size_t a = 0; a < inst.size(); ++a) {
        names_.push_back(inst[a].first);
        labels_.push_back("accelerator '" + inst[a].first + "' (" + res[a].ref.component + ")");
        wheres_.push_back(res[a].ref.where);
        models_.push_back(inst[a].second);
    }
    if (models_.empty()) names_.push_back("weights");
    exact_.resize(names_.size());
}

void CostModel::check_hosts(const std::string& model_name) const {
    const int exact = ex_.blocks.exact_block;
    const Configuration probe = uniform_configuration(layers_, ex_.spec->granularity, exact >= 0 ? exact : 0);
    for (std::size_t a = 0; a < models_.size(); ++a) {
        AcceleratorReport r;
        try {
            r = models_[a]->evaluate(layers_, probe, ex_.blocks.names, ex_.blocks.costs);
        } catch (const std::exception& e) {
            throw Error(ex_.file + ": " + wheres_[a] + ": cannot host " + model_name + ": " + e.what());
        }
        // Normalized figures refer to the experiment's exact block (found by its table); a
        // model whose own exact design is another block (its `exact` parameter) is told so.
        if (exact >= 0 && r.exact_power_mw > 0 &&
            std::fabs(r.exact_power_mw - r.power_mw) > 1e-9 * std::fabs(r.power_mw))
            std::printf("note: %s normalizes its own figures to another block than %s (%.6g mW, the all-%s design "
                        "%.6g mW); results are normalized to all-%s (set its parameter exact to %s)\n",
                        labels_[a].c_str(), ex_.blocks.names[static_cast<std::size_t>(exact)].c_str(), r.exact_power_mw,
                        ex_.blocks.names[static_cast<std::size_t>(exact)].c_str(), r.power_mw,
                        ex_.blocks.names[static_cast<std::size_t>(exact)].c_str(),
                        ex_.blocks.names[static_cast<std::size_t>(exact)].c_str());
    }
}

CostModel::Costed CostModel::evaluate(std::size_t a, const Configuration& c) const {
    Costed out;
    if (models_.empty()) {
        SearchProblem p;
        p.layers = layers_;
        p.block_costs = ex_.blocks.costs;
        const Outcome o = configuration_cost(p, c);
        out.report.realized = c;
        out.report.power_mw = *o.power_mw;
        out.report.area_um2 = *o.area_um2;
        out.ok = true;
        return out;
    }
    // A plugin that throws or returns a non-finite cost is reported by name.
    try {
        out.report = models_[a]->evaluate(layers_, c, ex_.blocks.names, ex_.blocks.costs);
    } catch (const std::exception& e) {
        out.error = labels_[a] + " failed on " + format_configuration(c, ex_.blocks.names) + ": " + e.what();
        return out;
    }
    if (!std::isfinite(out.report.power_mw) || !std::isfinite(out.report.area_um2)) {
        out.error = labels_[a] + " returned a non-finite power or area for " + format_configuration(c, ex_.blocks.names);
        return out;
    }
    out.ok = true;
    return out;
}

Outcome CostModel::fail(std::size_t, const Configuration& c, const std::string& error) {
    if (ex_.spec->on_error != OnError::Skip) throw Error(error);
    if (failed_.insert(format_configuration(c, ex_.blocks.names)).second) std::printf("skipped: %s\n", error.c_str());
    Outcome o;
    o.accuracy = kNaN;
    o.status = EvalStatus::Skipped;
    return o;
}

// A model that leaves `realized` empty changed nothing.
static Configuration realized_of(const Configuration& c, const AcceleratorReport& r) {
    return r.realized.blocks.size() == c.blocks.size() ? r.realized : c;
}

Configuration CostModel::realized(std::size_t a, const Configuration& c) const {
    if (models_.empty()) return c;
    const Costed k = evaluate(a, c);
    return k.ok ? realized_of(c, k.report) : c;
}

std::vector<std::vector<std::int64_t>> CostModel::unit_groups(std::size_t a, Granularity g) const {
    if (models_.empty()) return {};
    std::vector<std::vector<std::int64_t>> ids = models_[a]->unit_groups(layers_, g);
    if (ids.empty()) return ids;
    if (ids.size() != layers_.size())
        throw Error(labels_[a] + ": unit_groups gave " + std::to_string(ids.size()) + " layers, the network has " +
                    std::to_string(layers_.size()));
    for (std::size_t l = 0; l < ids.size(); ++l) {
        const auto U = static_cast<std::size_t>(unit_count(layers_[l], g));
        if (ids[l].size() != U || std::any_of(ids[l].begin(), ids[l].end(), [&](std::int64_t v) {
                return v < 0 || static_cast<std::size_t>(v) >= U;
            }))
            throw Error(labels_[a] + ": unit_groups of layer " + std::to_string(l + 1) + " must give each of its " +
                        std::to_string(U) + " units a group id in 0.." + std::to_string(U - 1));
    }
    return ids;
}

Outcome CostModel::cost(std::size_t a, const Configuration& c, Configuration* realized) {
    const Costed k = evaluate(a, c);
    if (realized) *realized = k.ok ? realized_of(c, k.report) : c;
    if (!k.ok) return fail(a, c, k.error);
    Outcome o;
    o.accuracy = kNaN;
    o.power_mw = k.report.power_mw;
    o.area_um2 = k.report.area_um2;
    if (!models_.empty()) o.latency_cycles = k.report.latency_cycles;
    return o;
}

// The all-exact design's power and area on accelerator a (costed once); 1, 1 without an
// exact block, so that "normalized" figures stay raw there.
const std::pair<double, double>& CostModel::exact_design(std::size_t a) {
    if (!exact_[a]) {
        if (ex_.blocks.exact_block < 0) {
            exact_[a] = std::make_pair(1.0, 1.0);
        } else {
            const Costed k = evaluate(a, uniform_configuration(layers_, ex_.spec->granularity, ex_.blocks.exact_block));
            if (!k.ok) throw Error(k.error + " (the all-exact design, which normalized figures refer to)");
            exact_[a] = std::make_pair(k.report.power_mw, k.report.area_um2);
        }
    }
    return *exact_[a];
}

Outcome CostModel::normalized(std::size_t a, const Configuration& c) {
    Outcome o = cost(a, c);
    if (o.status != EvalStatus::Evaluated) return o;
    const auto& [p0, a0] = exact_design(a);
    o.power_mw = *o.power_mw / p0;
    o.area_um2 = *o.area_um2 / a0;
    return o;
}

nlohmann::json CostModel::reports(const Configuration& c) {
    nlohmann::json out = nlohmann::json::array();
    const bool exact = ex_.blocks.exact_block >= 0;
    for (std::size_t a = 0; a < names_.size(); ++a) {
        const Costed k = evaluate(a, c);
        if (!k.ok) {
            fail(a, c, k.error);
            out.push_back({{"accelerator", names_[a]}, {"error", k.error}});
            continue;
        }
        const AcceleratorReport& r = k.report;
        nlohmann::json aj;
        if (models_.empty()) {
            aj = {{"accelerator", names_[a]}, {"power_mw", r.power_mw}, {"area_um2", r.area_um2}};
        } else {
            aj = {{"accelerator", names_[a]},
                  {"realized", format_configuration(r.realized, ex_.blocks.names)},
                  {"changes", r.changes},
                  {"power_mw", r.power_mw},
                  {"area_um2", r.area_um2},
                  {"latency_cycles", r.latency_cycles},
                  {"energy_nj", r.energy_nj},
                  {"utilization", r.utilization}};
        }
        if (exact) {
            const auto& [p0, a0] = exact_design(a);
            aj["power_norm"] = p0 > 0 ? r.power_mw / p0 : kNaN;
            aj["area_norm"] = a0 > 0 ? r.area_um2 / a0 : kNaN;
        }
        out.push_back(aj);
    }
    return out;
}

}  // namespace hawx::pipeline
