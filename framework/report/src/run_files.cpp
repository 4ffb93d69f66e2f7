// The run folder read back: checked JSON access, an RFC 4180 CSV parser, results.json.
#include "hawx/report/report.hpp"

#include "hawx/framework/text.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "hawx/framework/io.hpp"
#include "hawx/sdk/error.hpp"
#include "report_data.hpp"

namespace hawx::report {

using namespace detail;

namespace {

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw Error(p.string() + ": cannot read: " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw Error(p.string() + ": read failed");
    return ss.str();
}

std::optional<JsonDoc> load_json(const fs::path& p) {
    if (!fs::exists(p)) return std::nullopt;
    JsonDoc d;
    d.file = p.string();
    try {
        d.root = json::parse(read_text(p));
    } catch (const json::exception& e) {
        throw Error(d.file + ": not valid JSON: " + one_line(e.what()));
    }
    if (!d.root.is_object()) d.fail("", std::string("expected a JSON object, got ") + d.root.type_name());
    return d;
}

Csv parse_csv(const std::string& file, const std::string& text) {
    Csv csv;
    csv.file = file;
    std::vector<std::vector<std::string>> records;
    std::vector<int> starts;
    std::vector<std::string> rec;
    std::string field;
    bool quoted = false, after_quote = false, any = false;
    int line = 1, start = 1;
    const auto end_field = [&] {
        rec.push_back(field);
        field.clear();
        after_quote = false;
        any = true;
    };
    const auto end_record = [&] {
        if (any || !field.empty()) {
            end_field();
            records.push_back(rec);
            starts.push_back(start);
        }
        rec.clear();
        any = false;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char ch = text[i];
        if (quoted) {
            if (ch == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    field += '"';
                    ++i;
                } else {
                    quoted = false;
                    after_quote = true;
                }
            } else {
                if (ch == '\n') ++line;
                field += ch;
            }
            continue;
        }
        if (ch == ',') {
            end_field();
        } else if (ch == '\n' || ch == '\r') {
            if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            end_record();
            start = ++line;
        } else if (after_quote) {
            throw Error(file + ": line " + std::to_string(line) + ": text after a closing quote");
        } else if (ch == '"' && field.empty()) {
            quoted = true;
            any = true;
        } else {
            field += ch;
        }
    }
    if (quoted) throw Error(file + ": line " + std::to_string(start) + ": unterminated quoted field");
    end_record();
    if (records.empty()) throw Error(file + ": empty (no header line)");
    csv.header = records.front();
    for (std::size_t r = 1; r < records.size(); ++r) {
        if (records[r].size() != csv.header.size())
            throw Error(file + ": line " + std::to_string(starts[r]) + " has " + std::to_string(records[r].size()) +
                        " fields, the header has " + std::to_string(csv.header.size()));
        csv.rows.push_back(records[r]);
        csv.lines.push_back(starts[r]);
    }
    return csv;
}

std::optional<Csv> load_csv(const fs::path& p) {
    if (!fs::exists(p)) return std::nullopt;
    return parse_csv(p.string(), read_text(p));
}

}  // namespace

namespace detail {

std::string strf(const char* format, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, format);
    std::vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    return buf;
}

std::string num_or_dash(double v, const char* format) { return std::isfinite(v) ? strf(format, v) : "-"; }

std::string one_line(std::string s) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    std::replace(s.begin(), s.end(), '\r', ' ');
    return s;
}

RunFiles read_run(const std::string& run_dir) {
    RunFiles f;
    f.dir = run_dir;
    if (!fs::is_directory(f.dir)) throw Error(run_dir + ": no such run folder");
    f.results = load_json(f.dir / "results.json");
    f.scores = load_json(f.dir / "scores.json");
    f.representatives = load_json(f.dir / "representatives.json");
    f.state = load_json(f.dir / "run.json");
    f.model_scores = load_csv(f.dir / "model_scores.csv");
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(f.dir)) {
        const std::string n = e.path().filename().string();
        if (e.is_regular_file() && n.size() > 11 && n.rfind("pareto_", 0) == 0 && n.substr(n.size() - 4) == ".csv")
            names.push_back(n);
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) f.pareto.emplace_back(n.substr(7, n.size() - 11), *load_csv(f.dir / n));
    return f;
}

Results parse_results(const JsonDoc& d) {
    Results r;
    const json& root = d.root;
    r.model = d.find(root, "", "model") ? d.string_at(root, "", "model") : "?";
    r.granularity = d.find(root, "", "granularity") ? d.string_at(root, "", "granularity") : "layer";
    const json& blocks = d.array_at(root, "", "blocks");
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (!blocks[i].is_string()) d.fail("blocks[" + std::to_string(i) + "]", "expected a string");
        r.blocks.push_back(blocks[i].get<std::string>());
    }
    if (const json* b = d.find(root, "", "baseline")) {
        if (const json* f = d.find(*b, "baseline", "float")) {
            r.float_val = d.number_or(*f, "baseline.float", "validation", kNaN);
            r.float_test = d.number_or(*f, "baseline.float", "test", kNaN);
        }
        if (const json* e = d.find(*b, "baseline", "exact")) {
            r.exact_val = d.number_or(*e, "baseline.exact", "validation", kNaN);
            r.exact_test = d.number_or(*e, "baseline.exact", "test", kNaN);
        }
    }
    if (const json* t = d.find(root, "", "timing")) {
        r.t_eval = d.number_or(*t, "timing", "t_eval_s", kNaN);
        r.t_finetune = d.number_or(*t, "timing", "t_finetune_s", kNaN);
        r.t_eval_raw = d.number_or(*t, "timing", "t_eval_without_finetune_s", kNaN);
        r.t_prof = d.number_or(*t, "timing", "t_prof_s", kNaN);
        r.t_score = d.number_or(*t, "timing", "t_score_s", kNaN);
        r.t_rep = d.number_or(*t, "timing", "t_representatives_s", kNaN);
    }
    const json& searches = d.array_at(root, "", "searches");
    for (std::size_t i = 0; i < searches.size(); ++i) {
        const std::string w = "searches[" + std::to_string(i) + "]";
        const json& s = searches[i];
        SearchResultRow row;
        row.strategy = d.string_at(s, w, "strategy");
        row.component = d.find(s, w, "component") ? d.string_at(s, w, "component") : "";
        row.objective = d.find(s, w, "objective") ? d.string_at(s, w, "objective") : "";
        row.drop = d.number_at(s, w, "max_drop");
        row.threshold = d.number_or(s, w, "threshold", kNaN);
        row.evaluations = d.number_at(s, w, "evaluations");
        row.cache_hits = d.number_or(s, w, "cache_hits", kNaN);
        row.wall = d.number_at(s, w, "wall_s");
        const json& best = d.at(s, w, "best");
        if (!best.is_null()) {
            const std::string wb = w + ".best";
            row.found = true;
            row.configuration = d.string_at(best, wb, "configuration");
            row.val = d.number_at(best, wb, "validation_accuracy");
            row.test = d.number_or(best, wb, "test_accuracy", kNaN);
            row.ci = d.number_or(best, wb, "test_ci95", kNaN);
            if (const json* m = d.find(best, wb, "test_meets_threshold")) row.meets = m->is_boolean() && m->get<bool>();
            if (const json* f = d.find(best, wb, "finetune")) {
                const std::string wf = wb + ".finetune";
                row.finetuned = true;
                if (const json* j = d.find(*f, wf, "judged_by_search")) row.ft_judged = j->is_boolean() && j->get<bool>();
                if (const json* m = d.find(*f, wf, "test_after_meets_threshold")) row.ft_meets = m->is_boolean() && m->get<bool>();
                row.ft_val_before = d.number_or(*f, wf, "validation_before", kNaN);
                row.ft_val_after = d.number_or(*f, wf, "validation_after", kNaN);
                row.ft_test_before = d.number_or(*f, wf, "test_before", kNaN);
                row.ft_test_after = d.number_or(*f, wf, "test_after", kNaN);
                row.ft_ci = d.number_or(*f, wf, "test_after_ci95", kNaN);
                row.ft_seconds = d.number_or(*f, wf, "seconds", kNaN);
                if (const json* e = d.find(*f, wf, "epochs")) row.ft_epochs = e->is_array() ? static_cast<double>(e->size()) : kNaN;
            }
            if (const json* acc = d.find(best, wb, "accelerators")) {
                if (!acc->is_array()) d.fail(wb + ".accelerators", "expected an array");
                for (std::size_t a = 0; a < acc->size(); ++a) {
                    const std::string wa = wb + ".accelerators[" + std::to_string(a) + "]";
                    const json& aj = (*acc)[a];
                    AccelResult ar;
                    ar.name = d.string_at(aj, wa, "accelerator");
                    ar.realized = d.find(aj, wa, "realized") ? d.string_at(aj, wa, "realized") : "";
                    ar.power_mw = d.number_or(aj, wa, "power_mw", kNaN);
                    ar.area_um2 = d.number_or(aj, wa, "area_um2", kNaN);
                    ar.power_norm = d.number_or(aj, wa, "power_norm", kNaN);
                    ar.area_norm = d.number_or(aj, wa, "area_norm", kNaN);
                    ar.val = d.number_or(aj, wa, "validation_accuracy", kNaN);
                    ar.test = d.number_or(aj, wa, "test_accuracy", kNaN);
                    row.accelerators.push_back(ar);
                }
            }
        }
        if (const json* acc = d.find(s, w, "accounting"))
            for (const char* g : kGranularities)
                if (const json* e = d.find(*acc, w + ".accounting", g))
                    row.units.emplace_back(g, d.number_at(*e, w + ".accounting." + g, "units"));
        r.searches.push_back(row);
    }
    return r;
}

}  // namespace detail

}  // namespace hawx::report
