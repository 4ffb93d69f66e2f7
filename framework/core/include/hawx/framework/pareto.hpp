#pragma once
// The (accuracy, power, area) Pareto set of evaluated configurations, with JSON and CSV export.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hawx {

/// One evaluated configuration. Accuracy is maximized, power and area minimized (any units,
/// e.g. mW and um2 or values normalized to the exact design, as long as all points agree).
struct ParetoPoint {
    double accuracy = 0, power = 0, area = 0;
    std::string configuration;                          ///< e.g. "1-3,8:KV6 4:KV8"
    nlohmann::json extra = nlohmann::json::object();    ///< further fields, written as extra columns
};

/// a dominates b: no worse in all three objectives and better in at least one.
bool dominates(const ParetoPoint& a, const ParetoPoint& b);

/// The non-dominated points among those added so far.
class ParetoSet {
public:
    /// Adds `p`. Returns true when it joins the set (it then evicts every point it dominates),
    /// false when a kept point dominates it or has the same three objectives (the first one
    /// evaluated stays). Throws hawx::Error for a non-finite objective, an `extra` that is not a
    /// JSON object (null counts as empty), or an extra key that is one of accuracy, power, area, configuration.
    bool add(ParetoPoint p);

    /// The kept points, sorted by accuracy (highest first), then power, then area.
    std::vector<ParetoPoint> points() const;
    std::size_t size() const { return points_.size(); }

    /// {"objectives": {"accuracy": "max", "power": "min", "area": "min"}, "points": [{accuracy,
    /// power, area, configuration, <extra>...}, ...]}
    nlohmann::json to_json() const;
    /// Header accuracy,power,area,configuration,<extra keys, sorted>; RFC 4180 quoting; an
    /// extra missing from a point is an empty cell; numbers in shortest round-trip form.
    std::string to_csv() const;
    /// Atomic writes (write_file_atomic).
    void write_json(const std::string& path) const;
    void write_csv(const std::string& path) const;

private:
    std::vector<ParetoPoint> points_;
};

}  // namespace hawx
