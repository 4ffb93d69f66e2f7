#include "hawx/accelerators/perun.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hawx::accelerators {

namespace {
const char* kName = "perun";

std::string range_text(std::size_t a, std::size_t b) {
    return a == b ? std::to_string(a + 1) : std::to_string(a + 1) + "-" + std::to_string(b + 1);
}

// Contiguous cut of `work` into `g` parts minimizing the largest part (exact DP).
std::vector<std::pair<std::size_t, std::size_t>> balanced_cut(const std::vector<std::int64_t>& work, std::size_t g) {
    const std::size_t n = work.size();
    std::vector<std::int64_t> prefix(n + 1, 0);
    for (std::size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + work[i];
    const auto inf = std::numeric_limits<std::int64_t>::max();
    // best[k][i]: largest part when the first i layers form k parts; cut[k][i]: start of part k.
    std::vector<std::vector<std::int64_t>> best(g + 1, std::vector<std::int64_t>(n + 1, inf));
    std::vector<std::vector<std::size_t>> cut(g + 1, std::vector<std::size_t>(n + 1, 0));
    best[0][0] = 0;
    for (std::size_t k = 1; k <= g; ++k)
        for (std::size_t i = k; i <= n; ++i)
            for (std::size_t j = k - 1; j < i; ++j) {
                if (best[k - 1][j] == inf) continue;
                const std::int64_t v = std::max(best[k - 1][j], prefix[i] - prefix[j]);
                if (v < best[k][i]) {
                    best[k][i] = v;
                    cut[k][i] = j;
                }
            }
    std::vector<std::pair<std::size_t, std::size_t>> parts(g);
    std::size_t i = n;
    for (std::size_t k = g; k >= 1; --k) {
        const std::size_t j = cut[k][i];
        parts[k - 1] = {j, i - 1};
        i = j;
    }
    return parts;
}
}  // namespace

ComponentInfo Perun::describe() {
    return {kName, Kind::Accelerator, "1.0",
            "PERUN-like temporal soft processor: compute vectors of LIDs, each LID one block type",
            {ParamSpec::integer("compute_vectors", "compute vectors (CVs)").with_default(1).in_range(1, 4096),
             ParamSpec::integer("lids", "processing elements (local ids) per compute vector, one multiplier each")
                 .with_default(8)
                 .in_range(1, 4096),
             clock_param(), power_model_param(), exact_param(),
             ParamSpec::real("cv_logic_power_mw", "non-multiplier power per compute vector, mW")
                 .with_default(0.0)
                 .at_least(0),
             ParamSpec::real("cv_logic_area_um2", "non-multiplier area per compute vector, um2")
                 .with_default(0.0)
                 .at_least(0)}};
}

Perun::Perun(const Params& p)
    : cvs_(p.get_int("compute_vectors")),
      lids_(p.get_int("lids")),
      clock_mhz_(p.get_float("clock_mhz")),
      activity_(p.get_string("power_model") == "activity"),
      exact_(p.get_string("exact")),
      cv_logic_power_(p.get_float("cv_logic_power_mw")),
      cv_logic_area_(p.get_float("cv_logic_area_um2")) {}

PerunPlan Perun::plan(const std::vector<LayerShape>& layers, const Configuration& c,
                      const std::vector<std::string>& names, const std::vector<HardwareCost>& costs) const {
    check_inputs(kName, layers, c, names, costs);
    const std::size_t n = layers.size();
    PerunPlan plan;
    plan.realized = c;

    // Block of every work-item (filter).
    std::vector<std::vector<int>> fb(n);
    for (std::size_t l = 0; l < n; ++l) {
        const auto& s = layers[l];
        fb[l].resize(static_cast<std::size_t>(s.out_channels));
        std::int64_t filters_mixed = 0, ops_changed = 0;
        for (std::int64_t f = 0; f < s.out_channels; ++f) {
            if (c.granularity != Granularity::Operation) {
                fb[l][static_cast<std::size_t>(f)] = block_at(c, l, s, f, 0);
                continue;
            }
            std::map<int, std::int64_t> votes;
            for (std::int64_t k = 0; k < s.fan_in; ++k) ++votes[block_at(c, l, s, f, k)];
            const int b = majority(votes, costs);
            fb[l][static_cast<std::size_t>(f)] = b;
            if (votes.size() > 1) {
                ++filters_mixed;
                ops_changed += s.fan_in - votes[b];
            }
        }
        if (filters_mixed > 0)
            plan.changes.push_back(layer_label(layers, l) + ": " + std::to_string(filters_mixed) + " of " +
                                   std::to_string(s.out_channels) +
                                   " filters mixed blocks over weight positions; a work-item runs on one LID, so "
                                   "each takes its majority block (" +
                                   std::to_string(ops_changed) + " weight positions changed)");
    }
    if (c.granularity == Granularity::Operation) {
        plan.realized.granularity = Granularity::Filter;
        plan.realized.blocks = fb;
    }

    // Group layers by CV availability.
    std::vector<std::int64_t> work(n);
    for (std::size_t l = 0; l < n; ++l) {
        work[l] = layers[l].out_channels * layers[l].fan_in * layers[l].output_positions;
        plan.macs += work[l];
    }
    const std::size_t G = std::min<std::size_t>(static_cast<std::size_t>(cvs_), n);
    const auto parts = balanced_cut(work, G);
    std::vector<std::int64_t> gwork(G, 0), gcvs(G, 1);
    for (std::size_t g = 0; g < G; ++g)
        for (std::size_t l = parts[g].first; l <= parts[g].second; ++l) gwork[g] += work[l];
    for (std::int64_t extra = cvs_ - static_cast<std::int64_t>(G); extra > 0; --extra) {
        std::size_t best = 0;
        for (std::size_t g = 1; g < G; ++g)
            if (static_cast<double>(gwork[g]) / static_cast<double>(gcvs[g]) >
                static_cast<double>(gwork[best]) / static_cast<double>(gcvs[best]))
                best = g;
        ++gcvs[best];
    }

    const int e = exact_block(kName, exact_, names, costs);
    const double pe = std::max(costs[static_cast<std::size_t>(e)].power_mw, 1e-300);
    const double ae = std::max(costs[static_cast<std::size_t>(e)].area_um2, 1e-300);
    auto distance = [&](int a, int b) {
        const auto& ca = costs[static_cast<std::size_t>(a)];
        const auto& cb = costs[static_cast<std::size_t>(b)];
        return std::abs(ca.power_mw - cb.power_mw) / pe + std::abs(ca.area_um2 - cb.area_um2) / ae;
    };

    int next_cv = 0;
    for (std::size_t g = 0; g < G; ++g) {
        PerunGroup grp;
        grp.first_layer = parts[g].first;
        grp.last_layer = parts[g].second;
        grp.first_cv = next_cv;
        grp.cvs = static_cast<int>(gcvs[g]);
        next_cv += grp.cvs;
        const std::int64_t pool = gcvs[g] * lids_;
        const std::string gname = "group " + std::to_string(g + 1) + " (layers " +
                                  range_text(grp.first_layer, grp.last_layer) + ", CVs " +
                                  range_text(static_cast<std::size_t>(grp.first_cv),
                                             static_cast<std::size_t>(grp.first_cv + grp.cvs - 1)) +
                                  ")";

        std::map<int, std::int64_t> demand;  // MACs by block
        for (std::size_t l = grp.first_layer; l <= grp.last_layer; ++l)
            for (int b : fb[l]) demand[b] += layers[l].fan_in * layers[l].output_positions;
        while (static_cast<std::int64_t>(demand.size()) > pool) {
            int victim = -1;
            for (const auto& [b, d] : demand)
                if (victim < 0 || d < demand[victim] || (d == demand[victim] && more_expensive(victim, b, costs)))
                    victim = b;
            int target = -1;
            for (const auto& [b, d] : demand) {
                if (b == victim) continue;
                if (target < 0 || distance(victim, b) < distance(victim, target) ||
                    (distance(victim, b) == distance(victim, target) && more_expensive(b, target, costs)))
                    target = b;
            }
            std::int64_t moved = 0;
            for (std::size_t l = grp.first_layer; l <= grp.last_layer; ++l)
                for (auto& b : fb[l])
                    if (b == victim) {
                        b = target;
                        ++moved;
                    }
            plan.changes.push_back(gname + ": " + std::to_string(demand.size()) + " block types for " +
                                   std::to_string(pool) + " LIDs; " + names[static_cast<std::size_t>(victim)] +
                                   " (least used, " + std::to_string(demand[victim]) + " MACs, " +
                                   std::to_string(moved) + " work-items) merged into " +
                                   names[static_cast<std::size_t>(target)] + ", the closest in power and area");
            demand[target] += demand[victim];
            demand.erase(victim);
        }
        for (const auto& [b, d] : demand) grp.lids[b] = 1;
        for (std::int64_t left = pool - static_cast<std::int64_t>(demand.size()); left > 0; --left) {
            int best = -1;
            double best_load = -1;
            for (const auto& [b, d] : demand) {
                const double load = static_cast<double>(d) / static_cast<double>(grp.lids[b]);
                if (load > best_load || (load == best_load && more_expensive(b, best, costs))) {
                    best = b;
                    best_load = load;
                }
            }
            ++grp.lids[best];
        }
        for (std::size_t l = grp.first_layer; l <= grp.last_layer; ++l) {
            std::map<int, std::int64_t> items;
            for (int b : fb[l]) ++items[b];
            std::int64_t t = 0;
            for (const auto& [b, k] : items)
                t = std::max(t, (k + grp.lids[b] - 1) / grp.lids[b] * layers[l].fan_in * layers[l].output_positions);
            grp.layer_cycles.push_back(t);
            grp.cycles += t;
        }
        // Type the group's LIDs CV by CV, blocks in index order.
        std::vector<int> flat;
        for (const auto& [b, k] : grp.lids) flat.insert(flat.end(), static_cast<std::size_t>(k), b);
        for (int cv = 0; cv < grp.cvs; ++cv)
            plan.lid_block.emplace_back(flat.begin() + cv * lids_, flat.begin() + (cv + 1) * lids_);

        GroupUse use;
        use.key = gname;
        use.instances = grp.lids;
        use.operations = demand;
        use.logic_power_mw = static_cast<double>(grp.cvs) * cv_logic_power_;
        use.logic_area_um2 = static_cast<double>(grp.cvs) * cv_logic_area_;
        plan.use.push_back(std::move(use));
        plan.interval_cycles = std::max(plan.interval_cycles, grp.cycles);
        plan.latency_cycles += grp.cycles;
        plan.groups.push_back(std::move(grp));
    }

    // Merges change the realized configuration too.
    if (plan.realized.granularity == Granularity::Layer) {
        for (std::size_t l = 0; l < n; ++l) plan.realized.blocks[l][0] = fb[l][0];
    } else {
        plan.realized.blocks = fb;
    }
    return plan;
}

std::vector<std::vector<std::int64_t>> Perun::unit_groups(const std::vector<LayerShape>& layers, Granularity g) const {
    std::vector<std::vector<std::int64_t>> out;
    if (g != Granularity::Operation) return out;
    for (const auto& s : layers) {
        auto& ids = out.emplace_back();
        for (std::int64_t f = 0; f < s.out_channels; ++f) ids.insert(ids.end(), static_cast<std::size_t>(s.fan_in), f);
    }
    return out;
}

AcceleratorReport Perun::evaluate(const std::vector<LayerShape>& layers, const Configuration& configuration,
                                  const std::vector<std::string>& names,
                                  const std::vector<HardwareCost>& costs) const {
    PerunPlan p = plan(layers, configuration, names, costs);
    AcceleratorReport r;
    fill_costs(r, kName, p.use, static_cast<double>(p.interval_cycles), clock_mhz_, activity_, names, costs);
    r.latency_cycles = static_cast<double>(p.interval_cycles);
    r.utilization = static_cast<double>(p.macs) /
                    (static_cast<double>(cvs_ * lids_) * static_cast<double>(p.interval_cycles));

    const int e = exact_block(kName, exact_, names, costs);
    const PerunPlan px = plan(layers, uniform(layers.size(), e), names, costs);
    AcceleratorReport ex;
    fill_costs(ex, kName, px.use, static_cast<double>(px.interval_cycles), clock_mhz_, activity_, names, costs);
    r.exact_power_mw = ex.power_mw;
    r.exact_area_um2 = ex.area_um2;

    r.realized = std::move(p.realized);
    r.changes = std::move(p.changes);
    return r;
}

}  // namespace hawx::accelerators
