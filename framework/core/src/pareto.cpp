#include "hawx/framework/pareto.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include <hawx/sdk/error.hpp>

#include "hawx/framework/io.hpp"
#include "hawx/framework/text.hpp"

namespace hawx {

namespace {
const char* const kReserved[] = {"accuracy", "power", "area", "configuration"};

std::string number(double v) {
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, res.ptr);
}

std::string csv_value(const nlohmann::json& v) {
    if (v.is_string()) return csv_field(v.get<std::string>());
    if (v.is_number_float()) return number(v.get<double>());
    return csv_field(v.dump());
}
}  // namespace

bool dominates(const ParetoPoint& a, const ParetoPoint& b) {
    const bool no_worse = a.accuracy >= b.accuracy && a.power <= b.power && a.area <= b.area;
    const bool better = a.accuracy > b.accuracy || a.power < b.power || a.area < b.area;
    return no_worse && better;
}

bool ParetoSet::add(ParetoPoint p) {
    if (!std::isfinite(p.accuracy) || !std::isfinite(p.power) || !std::isfinite(p.area))
        throw Error("pareto: point '" + p.configuration + "' has a non-finite accuracy, power or area");
    if (p.extra.is_null()) p.extra = nlohmann::json::object();  // `{}` in a brace initializer is null
    if (!p.extra.is_object())
        throw Error("pareto: point '" + p.configuration + "': extra fields must be a JSON object, got " +
                    std::string(p.extra.type_name()));
    for (const char* k : kReserved)
        if (p.extra.contains(k))
            throw Error("pareto: point '" + p.configuration + "': extra field '" + k + "' clashes with an objective");
    for (const auto& q : points_) {
        if (dominates(q, p)) return false;
        if (q.accuracy == p.accuracy && q.power == p.power && q.area == p.area) return false;
    }
    points_.erase(std::remove_if(points_.begin(), points_.end(), [&](const ParetoPoint& q) { return dominates(p, q); }),
                  points_.end());
    points_.push_back(std::move(p));
    return true;
}

std::vector<ParetoPoint> ParetoSet::points() const {
    std::vector<ParetoPoint> v = points_;
    std::stable_sort(v.begin(), v.end(), [](const ParetoPoint& a, const ParetoPoint& b) {
        if (a.accuracy != b.accuracy) return a.accuracy > b.accuracy;
        if (a.power != b.power) return a.power < b.power;
        return a.area < b.area;
    });
    return v;
}

nlohmann::json ParetoSet::to_json() const {
    nlohmann::json j;
    j["objectives"] = {{"accuracy", "max"}, {"power", "min"}, {"area", "min"}};
    j["points"] = nlohmann::json::array();
    for (const auto& p : points()) {
        nlohmann::json o = p.extra;
        o["accuracy"] = p.accuracy;
        o["power"] = p.power;
        o["area"] = p.area;
        o["configuration"] = p.configuration;
        j["points"].push_back(std::move(o));
    }
    return j;
}

std::string ParetoSet::to_csv() const {
    std::set<std::string> keys;
    for (const auto& p : points_)
        for (const auto& [k, v] : p.extra.items()) keys.insert(k);
    std::string out = "accuracy,power,area,configuration";
    for (const auto& k : keys) out += "," + csv_field(k);
    out += "\n";
    for (const auto& p : points()) {
        out += number(p.accuracy) + "," + number(p.power) + "," + number(p.area) + "," + csv_field(p.configuration);
        for (const auto& k : keys) out += "," + (p.extra.contains(k) ? csv_value(p.extra.at(k)) : std::string());
        out += "\n";
    }
    return out;
}

void ParetoSet::write_json(const std::string& path) const { write_file_atomic(path, to_json().dump(2) + "\n"); }
void ParetoSet::write_csv(const std::string& path) const { write_file_atomic(path, to_csv()); }

}  // namespace hawx
