// EvoApproxLib C import: the figures of a circuit file's header (`// KEY = value` lines):
// published error metrics and PDK45 hardware costs.
#include "cimport_internal.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "hawx/sdk/error.hpp"

namespace hawx::cimport::detail {

// ----------------------------------------------------------------------------------------
// Header figures

namespace {

struct HeaderKey {
    const char* key;
    const char* unit;  // expected unit after the number ("" for none); also accepted when absent
};

const HeaderKey kMetricKeys[] = {{"MAE%", "%"},  {"MAE", ""},   {"WCE%", "%"}, {"WCE", ""},
                                 {"WCRE%", "%"}, {"EP%", "%"},  {"MRE%", "%"}, {"MSE", ""}};
const HeaderKey kCostKeys[] = {{"PDK45_PWR", "mW"}, {"PDK45_AREA", "um2"}, {"PDK45_DELAY", "ns"}};

/// Parses "<number> [unit]"; returns false when malformed.
bool parse_figure(const std::string& raw, const std::string& unit, double& value, std::string& number_text) {
    static const std::regex number_re(R"(^([+-]?)([0-9]+)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?\s*(.*)$)");
    static const std::regex number_re2(R"(^([+-]?)()\.([0-9]+)(?:[eE]([+-]?[0-9]+))?\s*(.*)$)");
    std::smatch m;
    const std::string s = trim(raw);
    if (!std::regex_match(s, m, number_re) && !std::regex_match(s, m, number_re2)) return false;
    std::string rest = trim(m[5].str());
    if (!rest.empty()) {
        bool ok = rest == unit;
        if (unit == std::string("um2")) ok = ok || rest == "um^2" || rest == "\xC2\xB5m2" || rest == "\xC2\xB5m^2";
        if (!ok) return false;
    }
    number_text = trim(s.substr(0, s.size() - m[5].length()));
    if (m[4].matched && m[4].length() > 5) return false;
    errno = 0;
    char* end = nullptr;
    value = std::strtod(number_text.c_str(), &end);
    return errno != ERANGE && end != number_text.c_str() && std::isfinite(value);
}

constexpr std::size_t kMaxHeaderLine = 1024;

/// The key of a `// KEY = value` line, found without std::regex; "" when the line is not one.
std::string comment_key(const std::string& line) {
    std::size_t i = 0;
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (line.compare(i, 2, "//") != 0) return "";
    i += 2;
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    const std::size_t b = i;
    while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' || line[i] == '%')) ++i;
    return line.substr(b, i - b);
}

}  // namespace

void parse_header(const std::string& path, const std::string& text, Circuit& c) {
    static const std::regex line_re(R"(^\s*//\s*([A-Za-z0-9_%]+)\s*[=:]\s*(.*?)\s*$)");
    std::istringstream in(text);
    std::string line;
    int line_no = 0;
    std::set<std::string> seen;
    std::map<std::string, double> cost;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        // libstdc++'s std::regex recurses once per character: a long line would overflow the
        // stack. Figure lines are short; a long one naming a figure is an error, others are skipped.
        if (line.size() > kMaxHeaderLine) {
            const std::string key = comment_key(line);
            bool figure = false;
            for (const auto& k : kMetricKeys) figure = figure || key == k.key;
            for (const auto& k : kCostKeys) figure = figure || key == k.key;
            if (figure)
                throw Error(path + ":" + std::to_string(line_no) + ": header line for " + key + " is " +
                        std::to_string(line.size()) + " characters long (at most " +
                        std::to_string(kMaxHeaderLine) + ")");
            continue;
        }
        std::smatch m;
        if (!std::regex_match(line, m, line_re)) continue;
        const std::string key = m[1].str();
        const HeaderKey* hk = nullptr;
        bool is_cost = false;
        for (const auto& k : kMetricKeys)
            if (key == k.key) hk = &k;
        for (const auto& k : kCostKeys)
            if (key == k.key) hk = &k, is_cost = true;
        if (!hk) continue;  // other figures (FPGA_*, ...) are not used
        const std::string where = path + ":" + std::to_string(line_no) + ": ";
        if (!seen.insert(key).second) throw Error(where + "header figure " + key + " is given twice");
        double value = 0;
        std::string number;
        if (!parse_figure(m[2].str(), hk->unit, value, number))
            throw Error(where + "malformed header value for " + key + ": '" + m[2].str() + "' (expected a number" +
                        (*hk->unit ? std::string(", optionally followed by ") + hk->unit : std::string()) + ")");
        if (is_cost) {
            if (value < 0) throw Error(where + "negative header value for " + key + ": '" + m[2].str() + "'");
            cost[key] = value;
            continue;
        }
        auto& p = c.published;
        const auto put = [&](const char* field, std::optional<double>& slot) {
            slot = value;
            p.printed[field] = number;
        };
        if (key == "MAE%") put("mae_percent", p.mae_percent);
        else if (key == "MAE") put("mae", p.mae);
        else if (key == "WCE%") put("wce_percent", p.wce_percent);
        else if (key == "WCE") put("wce", p.wce);
        else if (key == "WCRE%") put("wcre_percent", p.wcre_percent);
        else if (key == "EP%") put("ep_percent", p.ep_percent);
        else if (key == "MRE%") put("mre_percent", p.mre_percent);
        else if (key == "MSE") put("mse", p.mse);
    }
    c.published.source = "EvoApproxLib header of " + path;
    if (!cost.empty()) {
        HardwareCost hc;
        std::string missing;
        auto take = [&](const char* k, double& out, const char* what) {
            auto it = cost.find(k);
            if (it != cost.end())
                out = it->second;
            else
                missing += std::string(missing.empty() ? "" : ", ") + what;
        };
        take("PDK45_PWR", hc.power_mw, "power");
        take("PDK45_AREA", hc.area_um2, "area");
        take("PDK45_DELAY", hc.delay_ns, "delay");
        hc.source = "PDK45 figures published in " + path;
        if (!missing.empty()) hc.source += " (not published: " + missing + ")";
        c.cost = hc;
    }
}

}  // namespace hawx::cimport::detail
