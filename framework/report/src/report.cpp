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

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace hawx::report {

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const char* const kGranularities[] = {"layer", "filter", "operation"};

std::string strf(const char* format, ...) __attribute__((format(printf, 1, 2)));
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

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw Error(p.string() + ": cannot read: " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw Error(p.string() + ": read failed");
    return ss.str();
}

// ---------------------------------------------------------------- checked JSON access

// A parsed JSON file; every accessor's error names the file and the path of the value.
struct JsonDoc {
    std::string file;
    json root;

    [[noreturn]] void fail(const std::string& where, const std::string& what) const {
        throw Error(file + ": " + (where.empty() ? std::string() : where + ": ") + what);
    }
    static std::string key_path(const std::string& where, const std::string& key) {
        return where.empty() ? key : where + "." + key;
    }
    const json* find(const json& o, const std::string& where, const std::string& key) const {
        if (!o.is_object()) fail(where, std::string("expected an object, got ") + o.type_name());
        const auto it = o.find(key);
        return it == o.end() ? nullptr : &*it;
    }
    const json& at(const json& o, const std::string& where, const std::string& key) const {
        const json* v = find(o, where, key);
        if (!v) fail(where, "missing '" + key + "'");
        return *v;
    }
    // null stands for a value the run could not measure (JSON has no NaN).
    double number(const json& v, const std::string& where) const {
        if (v.is_null()) return kNaN;
        if (!v.is_number()) fail(where, std::string("expected a number, got ") + v.type_name());
        return v.get<double>();
    }
    double number_at(const json& o, const std::string& where, const std::string& key) const {
        return number(at(o, where, key), key_path(where, key));
    }
    double number_or(const json& o, const std::string& where, const std::string& key, double fallback) const {
        const json* v = find(o, where, key);
        return v ? number(*v, key_path(where, key)) : fallback;
    }
    std::string string_at(const json& o, const std::string& where, const std::string& key) const {
        const json& v = at(o, where, key);
        if (!v.is_string()) fail(key_path(where, key), std::string("expected a string, got ") + v.type_name());
        return v.get<std::string>();
    }
    const json& array_at(const json& o, const std::string& where, const std::string& key) const {
        const json& v = at(o, where, key);
        if (!v.is_array()) fail(key_path(where, key), std::string("expected an array, got ") + v.type_name());
        return v;
    }
    std::vector<double> numbers_at(const json& o, const std::string& where, const std::string& key) const {
        const json& a = array_at(o, where, key);
        std::vector<double> out;
        for (std::size_t i = 0; i < a.size(); ++i)
            out.push_back(number(a[i], key_path(where, key) + "[" + std::to_string(i) + "]"));
        return out;
    }
};

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

// ---------------------------------------------------------------- CSV (RFC 4180)

struct Csv {
    std::string file;
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    std::vector<int> lines;  // first source line of each row, for messages

    std::optional<std::size_t> find_column(const std::string& name) const {
        const auto it = std::find(header.begin(), header.end(), name);
        if (it == header.end()) return std::nullopt;
        return static_cast<std::size_t>(it - header.begin());
    }
    std::size_t column(const std::string& name) const {
        if (auto c = find_column(name)) return *c;
        throw Error(file + ": no column '" + name + "'");
    }
    // Empty, "-" (the pipeline's non-finite) and nan are NaN.
    double number(std::size_t row, std::size_t col) const {
        const std::string& s = rows[row][col];
        if (s.empty() || s == "-" || s == "nan" || s == "NaN" || s == "-nan") return kNaN;
        char* end = nullptr;
        errno = 0;
        const double v = std::strtod(s.c_str(), &end);
        if (end != s.c_str() + s.size() || errno == ERANGE)
            throw Error(file + ": line " + std::to_string(lines[row]) + ", column '" + header[col] + "': '" + s +
                        "' is not a number");
        return v;
    }
};

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


// ---------------------------------------------------------------- the run folder

struct RunFiles {
    fs::path dir;
    std::optional<JsonDoc> results, scores, representatives, state;
    std::optional<Csv> model_scores;
    std::vector<std::pair<std::string, Csv>> pareto;  // by accelerator name, sorted
};

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

// ---------------------------------------------------------------- results.json

struct AccelResult {
    std::string name, realized;
    double power_mw = kNaN, area_um2 = kNaN, power_norm = kNaN, area_norm = kNaN;
};

struct SearchResultRow {
    std::string strategy, component, configuration;
    double drop = kNaN, threshold = kNaN, evaluations = kNaN, cache_hits = kNaN, wall = kNaN;
    bool found = false, meets = false;
    double val = kNaN, test = kNaN, ci = kNaN;
    std::vector<AccelResult> accelerators;
    std::vector<std::pair<std::string, double>> units;  // granularity (layer, filter, operation) -> units (eq. 7's exponent)
    bool exhaustive() const { return strategy == "exhaustive" || component == "search.exhaustive"; }
};

struct Results {
    std::string model, granularity;
    std::vector<std::string> blocks;
    double float_val = kNaN, float_test = kNaN, exact_val = kNaN, exact_test = kNaN;
    double t_eval = kNaN, t_prof = kNaN, t_score = kNaN, t_rep = kNaN;
    std::vector<SearchResultRow> searches;
};

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

// ---------------------------------------------------------------- Table I (scores.json)

struct TableIRow {
    std::string level;  // model, layer or filter
    int layer = 0;
    std::string name, tag;
    long filter = -1;
    double lo = kNaN, hi = kNaN;
};

struct TableI {
    std::string lo, hi;  // least and most aggressive block by hawx(model)
    std::vector<TableIRow> rows;
};

std::optional<TableI> table1(const JsonDoc& d, std::vector<std::string>& notes) {
    const json& ms = d.array_at(d.root, "", "model_scores");
    std::vector<std::pair<std::string, double>> candidates;
    for (std::size_t i = 0; i < ms.size(); ++i) {
        const std::string w = "model_scores[" + std::to_string(i) + "]";
        const double mean = d.number_at(ms[i], w, "mean");
        if (std::isfinite(mean) && mean > 0) candidates.emplace_back(d.string_at(ms[i], w, "block"), mean);
    }
    if (candidates.size() < 2) {
        notes.push_back(d.file + ": fewer than two blocks with a positive hawx(model): Table I skipped");
        return std::nullopt;
    }
    const auto by_mean = [](const auto& a, const auto& b) { return a.second < b.second; };
    const auto lo = *std::min_element(candidates.begin(), candidates.end(), by_mean);
    const auto hi = *std::max_element(candidates.begin(), candidates.end(), by_mean);
    TableI t;
    t.lo = lo.first;
    t.hi = hi.first;
    t.rows.push_back({"model", 0, "", "", -1, lo.second, hi.second});

    const json& layers = d.array_at(d.root, "", "layers");
    // A deep model gets 8 layers, evenly spaced, first and last included.
    std::vector<std::size_t> pick;
    const std::size_t L = layers.size(), kMaxLayers = 8;
    for (std::size_t i = 0; i < std::min(L, kMaxLayers); ++i) {
        const std::size_t l = L <= kMaxLayers ? i : (i * (L - 1) + (kMaxLayers - 1) / 2) / (kMaxLayers - 1);
        if (pick.empty() || pick.back() != l) pick.push_back(l);
    }
    for (std::size_t l : pick) {
        const std::string w = "layers[" + std::to_string(l) + "]";
        const json& layer = layers[l];
        const int index = static_cast<int>(d.number_at(layer, w, "index"));
        const std::string name = d.string_at(layer, w, "name");
        const json& scores = d.array_at(layer, w, "scores");
        const auto of_block = [&](const std::string& block) -> std::pair<double, std::vector<double>> {
            for (std::size_t b = 0; b < scores.size(); ++b) {
                const std::string wb = w + ".scores[" + std::to_string(b) + "]";
                if (d.string_at(scores[b], wb, "block") == block)
                    return {d.number_at(scores[b], wb, "mean"), d.numbers_at(scores[b], wb, "filter_mean")};
            }
            d.fail(w, "no scores of block " + block);
        };
        const auto [l_lo, f_lo] = of_block(t.lo);
        const auto [l_hi, f_hi] = of_block(t.hi);
        if (f_lo.size() != f_hi.size())
            d.fail(w, "filter_mean of " + t.lo + " has " + std::to_string(f_lo.size()) + " entries, of " + t.hi + " " +
                          std::to_string(f_hi.size()));
        t.rows.push_back({"layer", index, name, "", -1, l_lo, l_hi});
        if (f_hi.empty()) continue;
        // Sample filters: the first, and the least and most sensitive to the aggressive block.
        std::map<std::size_t, std::string> tags;
        tags[0] = "";
        std::size_t fmin = 0, fmax = 0;
        for (std::size_t f = 0; f < f_hi.size(); ++f) {
            if (f_hi[f] < f_hi[fmin]) fmin = f;
            if (f_hi[f] > f_hi[fmax]) fmax = f;
        }
        if (fmin != fmax) tags[fmin] += tags[fmin].empty() ? "min" : ",min";
        if (fmin != fmax) tags[fmax] += tags[fmax].empty() ? "max" : ",max";
        for (const auto& [f, tag] : tags)
            t.rows.push_back({"filter", index, name, tag, static_cast<long>(f), f_lo[f], f_hi[f]});
    }
    return t;
}

// ---------------------------------------------------------------- Fig. 4 data and Spearman's rho

struct ModelScore {
    std::string block;
    double mean = kNaN, accuracy = kNaN;
};

struct ModelScores {
    std::string source, accuracy_label;
    std::vector<ModelScore> rows;
};

// model_scores.csv (hawx run), else scores.json's model_scores when `hawx score --measure` added accuracies.
std::optional<ModelScores> model_scores(const RunFiles& f) {
    ModelScores m;
    if (f.model_scores) {
        const Csv& c = *f.model_scores;
        m.source = c.file;
        m.accuracy_label = "validation accuracy";
        const std::size_t cb = c.column("block"), cm = c.column("hawx_model_mean"), ca = c.column("validation_accuracy");
        for (std::size_t r = 0; r < c.rows.size(); ++r) m.rows.push_back({c.rows[r][cb], c.number(r, cm), c.number(r, ca)});
        return m;
    }
    if (!f.scores) return std::nullopt;
    const JsonDoc& d = *f.scores;
    const json& ms = d.array_at(d.root, "", "model_scores");
    bool measured = false;
    for (std::size_t i = 0; i < ms.size(); ++i) {
        const std::string w = "model_scores[" + std::to_string(i) + "]";
        const double acc = d.number_or(ms[i], w, "accuracy", kNaN);
        measured = measured || d.find(ms[i], w, "accuracy");
        m.rows.push_back({d.string_at(ms[i], w, "block"), d.number_at(ms[i], w, "mean"), acc});
    }
    if (!measured) return std::nullopt;
    m.source = d.file;
    m.accuracy_label = "test accuracy";
    return m;
}


struct Rho {
    double rho = kNaN;
    std::size_t n = 0;
};

// Over the blocks whose score and accuracy were both measured (an exact block's 0 counts).
Rho rho_of(const ModelScores& m) {
    std::vector<double> xs, ys;
    for (const auto& r : m.rows)
        if (std::isfinite(r.mean) && std::isfinite(r.accuracy)) xs.push_back(r.mean), ys.push_back(r.accuracy);
    Rho out;
    out.n = xs.size();
    if (xs.size() >= 2) out.rho = spearman(xs, ys);
    return out;
}

// ---------------------------------------------------------------- search runtime (eq. 7-9)

struct RuntimeRow {
    const SearchResultRow* search = nullptr;
    std::string granularity;
    double units = kNaN, log10_n = kNaN, log10_t = kNaN;
    double t_hawx = kNaN, t_eq9 = kNaN;                  // seconds
    double log10_speedup = kNaN, log10_speedup_eq9 = kNaN;
    double measured = kNaN;                              // exhaustive's time / HAWX's time, same threshold
};

// N_exh = B^units (eq. 7), T_exh = N_exh * t_eval (eq. 8). HAWX's time: t_prof + t_score +
// its search's measured wall time, and eq. 9's estimate t_prof + t_score + evaluations * t_eval
// (t_score is the time to score all B blocks, i.e. eq. 9's B * t_score).
std::vector<RuntimeRow> runtime_rows(const Results& r) {
    std::vector<RuntimeRow> out;
    const double log_b = r.blocks.empty() ? kNaN : std::log10(static_cast<double>(r.blocks.size()));
    const double t_pre = (std::isfinite(r.t_prof) ? r.t_prof : 0.0) + (std::isfinite(r.t_score) ? r.t_score : 0.0);
    for (const auto& s : r.searches) {
        const SearchResultRow* exh = nullptr;
        for (const auto& e : r.searches)
            if (e.exhaustive() && std::abs(e.drop - s.drop) < 1e-9) exh = &e;
        for (const auto& [g, units] : s.units) {
            // An exhaustive search ran at the run's granularity only; so is its measured speedup.
            const bool run_level = g == r.granularity;
            if (s.exhaustive() && !run_level) continue;
            RuntimeRow row;
            row.search = &s;
            row.granularity = g;
            row.units = units;
            row.log10_n = units * log_b;
            row.log10_t = row.log10_n + std::log10(r.t_eval);  // NaN without t_eval
            if (!s.exhaustive()) {
                row.t_hawx = t_pre + s.wall;
                row.t_eq9 = t_pre + s.evaluations * r.t_eval;
                row.log10_speedup = row.log10_t - std::log10(row.t_hawx);
                row.log10_speedup_eq9 = row.log10_t - std::log10(row.t_eq9);
                if (exh && run_level) row.measured = exh->wall / row.t_hawx;
            }
            out.push_back(row);
        }
    }
    return out;
}

// "1.67x" up to a million, then "10^213.13x".
std::string times(double log10v) {
    if (!std::isfinite(log10v)) return "-";
    if (log10v >= 6) return strf("10^%.2fx", log10v);
    const double v = std::pow(10.0, log10v);
    return v < 10 ? strf("%.2fx", v) : strf("%.0fx", v);
}

std::string shorten(const std::string& s, std::size_t n) {
    return s.size() <= n ? s : s.substr(0, n - 3) + "...";
}

// ---------------------------------------------------------------- the printed report

std::string report_text(const RunFiles& f) {
    std::ostringstream os;
    std::vector<std::string> notes;
    std::optional<Results> res;
    if (f.results) res = parse_results(*f.results);
    std::optional<TableI> t1;
    if (f.scores) t1 = table1(*f.scores, notes);
    const std::optional<ModelScores> ms = model_scores(f);

    os << "run folder: " << f.dir.string() << "\n";
    if (f.state) {
        const std::string status = f.state->find(f.state->root, "", "status") ? f.state->string_at(f.state->root, "", "status") : "?";
        os << "status: " << status << (status == "complete" ? "" : " (an unfinished run: the tables show what is there)")
           << "\n";
    }
    if (res) {
        os << "model: " << res->model << ", granularity " << res->granularity << ", " << res->blocks.size()
           << " blocks:";
        for (const auto& b : res->blocks) os << " " << b;
        os << "\nbaseline: float " << num_or_dash(res->float_test, "%.2f%%") << " test / "
           << num_or_dash(res->float_val, "%.2f%%") << " validation; int8-exact "
           << num_or_dash(res->exact_test, "%.2f%%") << " test / " << num_or_dash(res->exact_val, "%.2f%%")
           << " validation\n";
    }

    os << "\n== Table I analog: hawx(l) and hawx(f) of sample filters, least vs most aggressive block by hawx(model)\n";
    if (!f.scores) {
        os << "notice: scores.json not found: Table I skipped\n";
    } else if (t1) {
        os << strf("%-18s %-16s %14s %14s\n", "layer", "unit", (t1->lo + " (least)").c_str(), (t1->hi + " (most)").c_str());
        for (const auto& r : t1->rows) {
            const std::string layer = r.level == "model" ? "-" : std::to_string(r.layer) + " " + r.name;
            std::string unit = r.level == "filter" ? "filter " + std::to_string(r.filter) : r.level;
            if (!r.tag.empty()) unit += " (" + r.tag + ")";
            os << strf("%-18s %-16s %14s %14s\n", shorten(layer, 18).c_str(), unit.c_str(), num_or_dash(r.lo, "%.3e").c_str(),
                       num_or_dash(r.hi, "%.3e").c_str());
        }
        os << "(hawx(f), hawx(l), hawx(model): mean per-operation score; filters: the first, and the min and max of the"
              " most aggressive block)\n";
    }
    for (const auto& n : notes) os << "notice: " << n << "\n";

    os << "\n== Table II analog: configurations found (validation selects, test reports; power and area normalized to "
          "the all-exact design)\n";
    if (!res) {
        os << "notice: results.json not found: Table II and the runtime comparison skipped\n";
    } else {
        os << strf("%-12s %5s %7s %-34s %7s %13s %-10s %6s %6s %10s %12s\n", "strategy", "drop", "thresh",
                   "configuration", "val", "test", "accel", "power", "area", "power_mW", "area_um2");
        os << strf("%-12s %5s %7s %-34s %7s %13s %-10s %6s %6s %10s %12s\n", "int8-exact", "-", "-", "(all exact)",
                   num_or_dash(res->exact_val, "%.2f").c_str(), num_or_dash(res->exact_test, "%.2f").c_str(), "-",
                   "1.000", "1.000", "-", "-");
        for (const auto& s : res->searches) {
            const std::string config = s.found ? shorten(s.configuration, 34) : "(none meets the threshold)";
            const std::string test = s.found && std::isfinite(s.test)
                                         ? strf("%.2f", s.test) + (std::isfinite(s.ci) ? strf("+-%.2f", s.ci) : "")
                                         : "-";
            const std::size_t n = std::max<std::size_t>(1, s.accelerators.size());
            for (std::size_t a = 0; a < n; ++a) {
                const AccelResult ar = a < s.accelerators.size() ? s.accelerators[a] : AccelResult{"-", "", kNaN, kNaN, kNaN, kNaN};
                os << strf("%-12s %5.2f %7s %-34s %7s %13s %-10s %6s %6s %10s %12s\n", shorten(s.strategy, 12).c_str(),
                           s.drop, num_or_dash(s.threshold, "%.2f").c_str(), config.c_str(),
                           s.found ? num_or_dash(s.val, "%.2f").c_str() : "-", test.c_str(), shorten(ar.name, 10).c_str(),
                           num_or_dash(ar.power_norm, "%.3f").c_str(), num_or_dash(ar.area_norm, "%.3f").c_str(),
                           num_or_dash(ar.power_mw, "%.3f").c_str(), num_or_dash(ar.area_um2, "%.1f").c_str());
                if (!ar.realized.empty() && ar.realized != s.configuration)
                    os << "             realized on " << ar.name << " as " << ar.realized << "\n";
            }
        }
    }

    os << "\n== Fig. 4 data: hawx(model) vs accuracy, one block in every layer\n";
    if (!ms) {
        os << "notice: model_scores.csv not found (nor accuracies in scores.json): Spearman's rho skipped\n";
    } else {
        const Rho rho = rho_of(*ms);
        for (const auto& r : ms->rows)
            os << strf("%-12s hawx(model) %12s   %s %s\n", shorten(r.block, 12).c_str(), num_or_dash(r.mean, "%.4e").c_str(),
                       ms->accuracy_label.c_str(), num_or_dash(r.accuracy, "%.2f%%").c_str());
        if (rho.n >= 2)
            os << strf("Spearman rho(hawx(model), %s) = %.3f over %zu blocks (%s)\n", ms->accuracy_label.c_str(),
                       rho.rho, rho.n, fs::path(ms->source).filename().c_str());
        else
            os << "notice: fewer than two blocks with a score and an accuracy: Spearman's rho skipped\n";
    }

    if (res) {
        const std::vector<RuntimeRow> rows = runtime_rows(*res);
        os << "\n== Search runtime vs exhaustive search (eq. 7-9)\n";
        os << "B = " << res->blocks.size() << " blocks; t_eval " << num_or_dash(res->t_eval, "%.3f s")
           << " per evaluation; t_prof " << num_or_dash(res->t_prof, "%.3f s") << "; t_score (all blocks) "
           << num_or_dash(res->t_score, "%.3f s") << "; representatives " << num_or_dash(res->t_rep, "%.3f s")
           << " (not in eq. 9)\n";
        if (rows.empty()) {
            os << "notice: results.json has no accounting (units per granularity): runtime comparison skipped\n";
        } else {
            os << "N_exh = B^units (eq. 7), T_exh = N_exh * t_eval (eq. 8)\n";
            std::set<std::string> shown;
            for (const auto& r : rows)
                if (shown.insert(r.granularity).second)
                    os << strf("  %-10s units %9.0f   log10 N_exh %12.3f   log10 T_exh[s] %12s\n", r.granularity.c_str(),
                               r.units, r.log10_n, num_or_dash(r.log10_t, "%.3f").c_str());
            os << "T_HAWX = t_prof + t_score + search wall time (measured); eq. 9: t_prof + t_score + evals * t_eval\n"
                  "speedup = T_exh / T_HAWX (estimated exhaustive time); measured = exhaustive search's wall time / "
                  "T_HAWX at the same threshold\n";
            os << strf("%-12s %5s %6s %6s %9s %9s %9s  %-10s %14s %14s %10s\n", "strategy", "drop", "evals", "cache",
                       "wall_s", "T_HAWX_s", "eq9_s", "level", "speedup", "speedup_eq9", "measured");
            for (const auto& r : rows) {
                const SearchResultRow& s = *r.search;
                os << strf("%-12s %5.2f %6.0f %6s %9.2f %9s %9s  %-10s %14s %14s %10s\n", shorten(s.strategy, 12).c_str(),
                           s.drop, s.evaluations, num_or_dash(s.cache_hits, "%.0f").c_str(), s.wall,
                           num_or_dash(r.t_hawx, "%.2f").c_str(), num_or_dash(r.t_eq9, "%.2f").c_str(),
                           r.granularity.c_str(), times(r.log10_speedup).c_str(), times(r.log10_speedup_eq9).c_str(),
                           std::isfinite(r.measured) ? strf("%.2fx", r.measured).c_str() : "-");
            }
            for (const auto& s : res->searches) {
                if (!s.exhaustive()) continue;
                const auto it = std::find_if(s.units.begin(), s.units.end(),
                                             [&](const auto& u) { return u.first == res->granularity; });
                if (it == s.units.end()) continue;
                const double n_exh = std::pow(static_cast<double>(res->blocks.size()), it->second);
                os << strf("exhaustive at drop %.2f: %.0f evaluations measured vs N_exh = %zu^%.0f = %.0f (eq. 7); wall "
                           "%.2f s vs T_exh = %s (eq. 8)\n",
                           s.drop, s.evaluations, res->blocks.size(), it->second, n_exh, s.wall,
                           num_or_dash(n_exh * res->t_eval, "%.2f s").c_str());
            }
        }
    }
    return os.str();
}

// ---------------------------------------------------------------- plots

// A file name part from a block or accelerator name.
std::string file_part(const std::string& s) {
    std::string out;
    for (char ch : s) out += std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' ? ch : '_';
    return out.empty() ? "_" : out;
}

// gnuplot single-quoted string ('' is a quote).
std::string gp(const std::string& s) {
    std::string q = "'";
    for (char ch : s) q += ch == '\'' ? std::string("''") : std::string(1, ch);
    return q + "'";
}

// A quoted string column in a gnuplot data file.
std::string gp_data_string(const std::string& s) {
    std::string q = "\"";
    for (char ch : s) q += ch == '"' ? '\'' : ch;
    return q + "\"";
}

struct Figure {
    std::string name;                                        // file stem
    std::vector<std::pair<std::string, std::string>> data;  // file name, content
    std::string body;                                        // gnuplot commands drawing the figure
    std::string preamble;                                    // before the output loop (data blocks)
    int width = 900, height = 600;
};

std::string script_of(const Figure& fig) {
    std::ostringstream s;
    s << "# " << fig.name << ": generated by `hawx report` (docs/report.md).\n"
      << "# Re-render from this folder: gnuplot " << fig.name << ".gp (or: hawx report RUN_DIR)\n"
      << "if (!exists(\"PNG\")) PNG = " << gp(fig.name + ".png") << "\n"
      << "if (!exists(\"SVG\")) SVG = " << gp(fig.name + ".svg") << "\n"
      << fig.preamble
      << "do for [fmt in \"png svg\"] {\n"
      << "  if (fmt eq \"png\") {\n"
      << "    if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
      << "      set terminal pngcairo size " << fig.width << "," << fig.height << " noenhanced font \",10\"\n"
      << "    } else {\n"
      << "      set terminal png size " << fig.width << "," << fig.height << " noenhanced\n"
      << "    }\n"
      << "    set output PNG\n"
      << "  } else {\n"
      << "    set terminal svg size " << fig.width << "," << fig.height
      << " noenhanced font \"Arial,10\" background \"#ffffff\"\n"
      << "    set output SVG\n"
      << "  }\n"
      << fig.body << "  unset output\n"
      << "}\n";
    return s.str();
}

std::optional<Figure> fig2(const JsonDoc& d, std::vector<std::string>& notes) {
    const std::vector<double> edges = d.numbers_at(d.root, "", "edges");
    const std::vector<double> all = d.numbers_at(d.root, "", "density_all");
    const std::vector<double> reps = d.numbers_at(d.root, "", "density_representatives");
    const json& per = d.array_at(d.root, "", "density_per_representative");
    std::vector<std::vector<double>> each;
    for (std::size_t c = 0; c < per.size(); ++c) {
        const std::string w = "density_per_representative[" + std::to_string(c) + "]";
        if (!per[c].is_array()) d.fail(w, "expected an array");
        std::vector<double> v;
        for (std::size_t i = 0; i < per[c].size(); ++i) v.push_back(d.number(per[c][i], w + "[" + std::to_string(i) + "]"));
        each.push_back(v);
    }
    const std::size_t n = all.size();
    if (n == 0) {
        notes.push_back(d.file + ": no histogram: fig2_activations skipped");
        return std::nullopt;
    }
    if (edges.size() != n + 1) d.fail("edges", std::to_string(edges.size()) + " edges for " + std::to_string(n) + " bins");
    if (reps.size() != n) d.fail("density_representatives", std::to_string(reps.size()) + " bins, density_all has " + std::to_string(n));
    for (std::size_t c = 0; c < each.size(); ++c)
        if (each[c].size() != n)
            d.fail("density_per_representative[" + std::to_string(c) + "]",
                   std::to_string(each[c].size()) + " bins, density_all has " + std::to_string(n));
    Figure fig;
    fig.name = "fig2_activations";
    std::string dat = "# bin_center density_all density_representatives";
    for (std::size_t c = 0; c < each.size(); ++c) dat += " representative_" + std::to_string(c + 1);
    dat += "\n";
    for (std::size_t i = 0; i < n; ++i) {
        dat += exact_number((edges[i] + edges[i + 1]) / 2) + " " + exact_number(all[i]) + " " + exact_number(reps[i]);
        for (const auto& v : each) dat += " " + exact_number(v[i]);
        dat += "\n";
    }
    const std::string file = fig.name + ".dat";
    fig.data.emplace_back(file, dat);
    std::ostringstream b;
    b << "  set title " << gp("Fig. 2 analog: first-layer activations, whole profiling set vs its " + std::to_string(each.size()) + " representatives") << "\n"
      << "  set xlabel 'first-layer activation'\n  set ylabel 'density'\n  set key top right\n  set grid\n"
      << "  plot ";
    if (!each.empty())
        b << "for [c=4:" << 3 + each.size() << "] " << gp(file)
          << " using 1:c with lines lc rgb '#9ecae1' lw 1 title (c == 4 ? 'each representative' : ''), \\\n       ";
    b << gp(file) << " using 1:3 with lines lc rgb '#08519c' lw 2.5 title 'representatives together', \\\n       "
      << gp(file) << " using 1:2 with lines lc rgb '#cb181d' lw 2.5 title 'whole set'\n";
    fig.body = b.str();
    return fig;
}

struct DistRow {
    int layer = 0;
    std::string name, block;
    double operations = 0;
    std::vector<double> bins;
};

// Fraction of operations per log bin, with the counts the log axis cannot show in the key.
std::string dist_key(const std::string& label, const DistRow& r) {
    std::string key = label;
    std::vector<std::string> extra;
    const double zero = r.bins.front() / r.operations, below = r.bins[1] / r.operations, above = r.bins.back() / r.operations;
    if (zero > 0) extra.push_back(strf("%.1f%% zero", 100 * zero));
    if (below > 0) extra.push_back(strf("%.2g%% < 1e-12", 100 * below));
    if (above > 0) extra.push_back(strf("%.2g%% >= 1e2", 100 * above));
    for (std::size_t i = 0; i < extra.size(); ++i) key += (i == 0 ? " (" : ", ") + extra[i];
    return key + (extra.empty() ? "" : ")");
}

Figure dist_figure(const std::string& name, const std::string& title, const std::vector<double>& edges,
                   const std::vector<std::pair<std::string, const DistRow*>>& series) {
    const std::size_t nb = edges.size() - 1;  // log bins; bins[j + 2] holds log bin j
    std::size_t first = nb, last = 0;
    for (const auto& [label, r] : series)
        for (std::size_t j = 0; j < nb; ++j)
            if (r->bins[j + 2] > 0) first = std::min(first, j), last = std::max(last, j);
    first = first > 0 ? first - 1 : 0;
    last = std::min(last + 1, nb - 1);
    Figure fig;
    fig.name = name;
    std::string dat = "# bin_low bin_high bin_center(geometric)";
    for (const auto& [label, r] : series) dat += " " + file_part(label);
    dat += "  (fraction of the row's operations)\n";
    for (std::size_t j = first; j <= last; ++j) {
        dat += exact_number(edges[j]) + " " + exact_number(edges[j + 1]) + " " + exact_number(std::sqrt(edges[j] * edges[j + 1]));
        for (const auto& [label, r] : series) dat += " " + exact_number(r->bins[j + 2] / r->operations);
        dat += "\n";
    }
    const std::string file = name + ".dat";
    fig.data.emplace_back(file, dat);
    std::ostringstream b;
    b << "  set title " << gp(title) << "\n  set logscale x\n  set format x '%.0e'\n  set grid\n"
      << "  set xlabel 'hawx(o) (log bins, 4 per decade)'\n  set ylabel 'fraction of operations'\n  set key top left\n"
      << "  plot ";
    for (std::size_t c = 0; c < series.size(); ++c)
        b << (c ? ", \\\n       " : "") << gp(file) << " using 3:" << c + 4 << " with linespoints pt 7 ps 0.6 lw 1.5 title "
          << gp(dist_key(series[c].first, *series[c].second));
    b << "\n  unset logscale x\n  set format x\n";
    fig.body = b.str();
    return fig;
}

std::vector<Figure> fig3(const JsonDoc& d, std::vector<std::string>& notes) {
    const json* dist = d.find(d.root, "", "distributions");
    if (!dist || dist->is_null()) {
        notes.push_back(d.file + " has no operation-score distributions: fig3 skipped");
        return {};
    }
    const std::vector<double> edges = d.numbers_at(*dist, "distributions", "log_bin_edges");
    if (edges.size() < 2) d.fail("distributions.log_bin_edges", "fewer than 2 edges");
    const json& rows = d.array_at(*dist, "distributions", "rows");
    std::vector<DistRow> all;
    std::vector<std::string> blocks;  // first-seen order
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const std::string w = "distributions.rows[" + std::to_string(i) + "]";
        DistRow r;
        r.layer = static_cast<int>(d.number_at(rows[i], w, "layer"));
        r.name = d.string_at(rows[i], w, "name");
        r.block = d.string_at(rows[i], w, "block");
        r.operations = d.number_at(rows[i], w, "operations");
        r.bins = d.numbers_at(rows[i], w, "bins");
        if (r.bins.size() != edges.size() + 2)
            d.fail(w + ".bins", std::to_string(r.bins.size()) + " bins, expected " + std::to_string(edges.size() + 2) +
                                    " (zero, below, one per log bin, above)");
        if (!(r.operations > 0)) continue;  // a block the profile's signedness excludes
        if (std::find(blocks.begin(), blocks.end(), r.block) == blocks.end()) blocks.push_back(r.block);
        all.push_back(r);
    }
    const auto drawable = [&](const DistRow& r) {
        for (std::size_t j = 0; j < edges.size() - 1; ++j)
            if (r.bins[j + 2] > 0) return true;
        return false;
    };
    std::vector<Figure> figs;
    std::vector<std::pair<std::string, const DistRow*>> model;
    for (const auto& block : blocks) {
        std::vector<std::pair<std::string, const DistRow*>> layers;
        bool any = false;
        for (const auto& r : all) {
            if (r.block != block) continue;
            if (r.layer == 0) {
                model.emplace_back(block, &r);
            } else {
                any = any || drawable(r);
                layers.emplace_back(std::to_string(r.layer) + " " + r.name, &r);
            }
        }
        if (!any) {
            notes.push_back("fig3: block " + block + " has no nonzero hawx(o) to draw on a log axis: skipped");
            continue;
        }
        figs.push_back(dist_figure("fig3_score_distribution_" + file_part(block),
                                   "Fig. 3 analog: hawx(o) distribution per layer, block " + block, edges, layers));
    }
    model.erase(std::remove_if(model.begin(), model.end(), [&](const auto& s) { return !drawable(*s.second); }),
                model.end());
    if (!model.empty())
        figs.push_back(dist_figure("fig3_score_distribution_model",
                                   "Fig. 3 analog: hawx(o) distribution over the whole model, per block", edges, model));
    return figs;
}

std::optional<Figure> fig4(const ModelScores& m, std::vector<std::string>& notes) {
    const Rho rho = rho_of(m);
    Figure fig;
    fig.name = "fig4_score_vs_accuracy";
    std::string dat = "# block hawx_model_mean accuracy (" + m.accuracy_label + "; from " +
                      fs::path(m.source).filename().string() + ")\n";
    std::size_t points = 0;
    double lo = kNaN, hi = kNaN;
    std::vector<std::string> zero;
    for (const auto& r : m.rows) {
        if (!std::isfinite(r.mean) || !std::isfinite(r.accuracy)) continue;
        if (r.mean <= 0) {
            zero.push_back(r.block);
            continue;
        }
        dat += gp_data_string(r.block) + " " + exact_number(r.mean) + " " + exact_number(r.accuracy) + "\n";
        lo = points ? std::min(lo, r.mean) : r.mean;
        hi = points ? std::max(hi, r.mean) : r.mean;
        ++points;
    }
    if (!zero.empty()) {
        std::string z;
        for (const auto& b : zero) z += (z.empty() ? "" : " ") + b;
        notes.push_back("fig4: blocks with hawx(model) = 0 (in rho, not on the log axis): " + z);
    }
    if (points == 0) {
        notes.push_back("fig4: no block with a positive hawx(model) and an accuracy: skipped");
        return std::nullopt;
    }
    const std::string file = fig.name + ".dat";
    fig.data.emplace_back(file, dat);
    const std::string title = "Fig. 4 analog: hawx(model) vs " + m.accuracy_label + ", one block in every layer" +
                              (rho.n >= 2 ? strf(" (Spearman rho = %.3f, %zu blocks)", rho.rho, rho.n) : "");
    std::ostringstream b;
    b << "  set title " << gp(title) << "\n  set logscale x\n  set format x '%.0e'\n  set grid\n"
      << "  set xlabel 'hawx(model) (mean per-operation score)'\n  set ylabel " << gp(m.accuracy_label + " [%]") << "\n"
      << "  set xrange [" << exact_number(lo / 3) << ":" << exact_number(hi * 5) << "]\n  set offsets 0, 0, graph 0.08, graph 0.08\n"
      << "  plot " << gp(file) << " using 2:3 with points pt 7 ps 1.3 lc rgb '#08519c' notitle, \\\n       " << gp(file)
      << " using 2:3:1 with labels offset char 0.8,0.6 left notitle\n"
      << "  unset logscale x\n  set format x\n  set xrange [*:*]\n  set offsets 0, 0, 0, 0\n";
    fig.body = b.str();
    return fig;
}

struct TradeoffPoint {
    double power = kNaN, area = kNaN, accuracy = kNaN;
    std::string label;
};

std::vector<Figure> fig5(const RunFiles& f, const std::optional<Results>& res, std::vector<std::string>& notes) {
    std::map<std::string, std::vector<TradeoffPoint>> pareto, chosen;
    for (const auto& [accel, csv] : f.pareto) {
        const std::size_t ca = csv.column("accuracy"), cp = csv.column("power"), cr = csv.column("area"),
                          cc = csv.column("configuration");
        const std::optional<std::size_t> cs = csv.find_column("strategy");
        auto& pts = pareto[accel];
        for (std::size_t r = 0; r < csv.rows.size(); ++r)
            pts.push_back({csv.number(r, cp), csv.number(r, cr), csv.number(r, ca),
                           csv.rows[r][cc] + (cs ? " (" + csv.rows[r][*cs] + ")" : "")});
        std::sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) { return a.power < b.power; });
    }
    bool normalized = false;
    if (res)
        for (const auto& s : res->searches)
            for (const auto& a : s.accelerators)
                if (std::isfinite(a.power_norm) && std::isfinite(a.area_norm)) {
                    normalized = true;
                    chosen[a.name].push_back({a.power_norm, a.area_norm, s.val, s.strategy + strf(" %.2f", s.drop)});
                }
    std::set<std::string> accels;
    for (const auto& [a, p] : pareto) accels.insert(a);
    for (const auto& [a, p] : chosen) accels.insert(a);
    if (accels.empty()) notes.push_back("no pareto_<accelerator>.csv and no normalized costs in results.json: fig5 skipped");
    std::vector<Figure> figs;
    for (const auto& accel : accels) {
        Figure fig;
        fig.name = "fig5_tradeoff_" + file_part(accel);
        fig.width = 1300;
        fig.height = 560;
        const auto write_points = [&](const std::string& suffix, const std::vector<TradeoffPoint>& pts) {
            std::string dat = "# power area validation_accuracy label\n";
            for (const auto& p : pts)
                dat += exact_number(p.power) + " " + exact_number(p.area) + " " + exact_number(p.accuracy) + " " + gp_data_string(p.label) + "\n";
            fig.data.emplace_back(fig.name + suffix + ".dat", dat);
            return fig.name + suffix + ".dat";
        };
        const std::vector<TradeoffPoint>& front = pareto[accel];
        const std::vector<TradeoffPoint>& picks = chosen[accel];
        const std::string front_file = write_points("_pareto", front), picks_file = write_points("_searches", picks);
        const bool star = normalized && res && std::isfinite(res->exact_val);
        const std::string unit = normalized ? " (normalized to all-exact)" : " (units of pareto_" + accel + ".csv)";
        std::ostringstream b;
        if (star) fig.preamble = "$exact << EOD\n1 1 " + exact_number(res->exact_val) + "\nEOD\n";
        b << "  set multiplot layout 1,2 title "
          << gp("Fig. 5 analog: accuracy-power-area trade-off on " + accel +
                " (validation accuracy; Pareto set of every evaluated configuration highlighted)")
          << "\n  set grid\n  set key bottom right\n  set ylabel 'validation accuracy [%]'\n";
        for (int axis = 0; axis < 2; ++axis) {
            const int col = axis + 1;
            b << "  set xlabel " << gp(std::string(axis == 0 ? "power" : "area") + unit) << "\n  plot ";
            std::vector<std::string> parts;
            if (!front.empty())
                parts.push_back(gp(front_file) + " using " + std::to_string(col) +
                                ":3 with linespoints pt 7 ps 1.2 lw 1.5 lc rgb '#cb181d' title 'Pareto set'");
            if (!picks.empty())
                parts.push_back(gp(picks_file) + " using " + std::to_string(col) +
                                ":3 with points pt 6 ps 2.2 lw 1.5 lc rgb '#08519c' title 'chosen by a search (strategy, drop)'");
            if (star) parts.push_back("$exact using " + std::to_string(col) + ":3 with points pt 3 ps 2.5 lc rgb 'black' title 'all exact'");
            for (std::size_t i = 0; i < parts.size(); ++i) b << (i ? ", \\\n       " : "") << parts[i];
            b << "\n";
        }
        b << "  unset multiplot\n";
        fig.body = b.str();
        figs.push_back(fig);
    }
    return figs;
}

// ---------------------------------------------------------------- tables as CSV and JSON

std::string table1_csv(const TableI& t) {
    std::string csv = "level,layer,name,filter,sample,block,hawx\n";
    for (const auto& r : t.rows)
        for (int k = 0; k < 2; ++k)
            csv += r.level + "," + (r.level == "model" ? "" : std::to_string(r.layer)) + "," + csv_field(r.name) + "," +
                   (r.filter >= 0 ? std::to_string(r.filter) : "") + "," + csv_field(r.tag) + "," +
                   csv_field(k == 0 ? t.lo : t.hi) + "," + exact_number(k == 0 ? r.lo : r.hi) + "\n";
    return csv;
}

json jnum(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string runtime_csv(const std::vector<RuntimeRow>& rows, const Results& r) {
    std::string csv = "strategy,max_drop,evaluations,cache_hits,wall_s,t_eval_s,t_prof_s,t_score_s,t_hawx_s,t_hawx_eq9_s,"
                      "granularity,units,log10_n_exh,log10_t_exh_s,log10_speedup,log10_speedup_eq9,measured_speedup\n";
    for (const auto& x : rows) {
        const SearchResultRow& s = *x.search;
        csv += csv_field(s.strategy) + "," + exact_number(s.drop) + "," + exact_number(s.evaluations) + "," + exact_number(s.cache_hits) + "," +
               exact_number(s.wall) + "," + exact_number(r.t_eval) + "," + exact_number(r.t_prof) + "," + exact_number(r.t_score) + "," + exact_number(x.t_hawx) + "," +
               exact_number(x.t_eq9) + "," + x.granularity + "," + exact_number(x.units) + "," + exact_number(x.log10_n) + "," + exact_number(x.log10_t) +
               "," + exact_number(x.log10_speedup) + "," + exact_number(x.log10_speedup_eq9) + "," + exact_number(x.measured) + "\n";
    }
    return csv;
}

// ---------------------------------------------------------------- running gnuplot

std::optional<std::string> find_on_path(const std::string& exe) {
    const char* path = std::getenv("PATH");
    if (!path) return std::nullopt;
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        const fs::path candidate = fs::path(dir.empty() ? "." : dir) / exe;
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return std::nullopt;
}

struct ProcessResult {
    int status = -1;  // exit status, -1 when it did not exit normally
    std::string err;
};

// Runs argv in `cwd`, stdout discarded, stderr captured (gnuplot's messages).
ProcessResult run_process(const std::string& cwd, const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("cannot start gnuplot: pipe: ") + std::strerror(errno));
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw Error(std::string("cannot start gnuplot: fork: ") + std::strerror(errno));
    }
    if (pid == 0) {  // child: only async-signal-safe calls until exec
        const int devnull = ::open("/dev/null", O_RDWR);
        if (devnull >= 0) ::dup2(devnull, 0), ::dup2(devnull, 1);
        ::dup2(fds[1], 2);
        if (::chdir(cwd.c_str()) != 0) ::_exit(126);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    ProcessResult r;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n > 0) r.err.append(buf, static_cast<std::size_t>(n));
        else if (n == 0 || errno != EINTR) break;
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

// gnuplot writes its outputs itself; they go to temporary names, are synced, then renamed.
void sync_and_rename(const fs::path& tmp, const fs::path& final_path) {
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
    std::error_code ec;
    fs::rename(tmp, final_path, ec);
    if (ec) throw Error(final_path.string() + ": cannot move the rendered file into place: " + ec.message());
}

std::string last_line(const std::string& s) {
    std::string t = s;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    const std::size_t p = t.rfind('\n');
    return p == std::string::npos ? t : t.substr(p + 1);
}

}  // namespace

void print_report(const std::string& run_dir, std::ostream& out) {
    const RunFiles f = read_run(run_dir);
    out << report_text(f);  // composed first: a malformed file prints nothing
    out.flush();
}

std::vector<std::string> render_plots(const std::string& run_dir, std::ostream& notices) {
    const RunFiles f = read_run(run_dir);
    std::vector<std::string> notes;

    // Everything is read and checked before the first file is written.
    std::optional<Results> res;
    if (f.results) res = parse_results(*f.results);
    std::vector<Figure> figs;
    if (f.representatives) {
        if (auto fig = fig2(*f.representatives, notes)) figs.push_back(*fig);
    } else {
        notes.push_back("representatives.json not found: fig2_activations skipped");
    }
    if (f.scores) {
        for (auto& fig : fig3(*f.scores, notes)) figs.push_back(std::move(fig));
    } else {
        notes.push_back("scores.json not found: fig3_score_distribution skipped");
    }
    const std::optional<ModelScores> ms = model_scores(f);
    if (ms) {
        if (auto fig = fig4(*ms, notes)) figs.push_back(*fig);
    } else {
        notes.push_back("model_scores.csv not found: fig4_score_vs_accuracy skipped");
    }
    for (auto& fig : fig5(f, res, notes)) figs.push_back(std::move(fig));

    std::vector<std::pair<std::string, std::string>> tables;  // file name, content
    json report = json::object();
    if (f.scores) {
        std::vector<std::string> ignored;  // already noted by print_report's Table I
        if (const std::optional<TableI> t = table1(*f.scores, ignored)) {
            tables.emplace_back("table1.csv", table1_csv(*t));
            json rows = json::array();
            for (const auto& r : t->rows)
                rows.push_back({{"level", r.level}, {"layer", r.layer}, {"name", r.name}, {"filter", r.filter},
                                {"sample", r.tag}, {"least", jnum(r.lo)}, {"most", jnum(r.hi)}});
            report["table1"] = {{"least", t->lo}, {"most", t->hi}, {"rows", rows}};
        }
    }
    if (ms) {
        const Rho rho = rho_of(*ms);
        report["spearman"] = {{"rho", jnum(rho.rho)}, {"blocks", rho.n}, {"accuracy", ms->accuracy_label},
                              {"source", fs::path(ms->source).filename().string()}};
    }
    if (res) {
        const std::vector<RuntimeRow> rows = runtime_rows(*res);
        tables.emplace_back("search_runtime.csv", runtime_csv(rows, *res));
        json jr = json::array();
        for (const auto& x : rows)
            jr.push_back({{"strategy", x.search->strategy}, {"max_drop", x.search->drop},
                          {"evaluations", jnum(x.search->evaluations)}, {"wall_s", jnum(x.search->wall)},
                          {"t_hawx_s", jnum(x.t_hawx)}, {"t_hawx_eq9_s", jnum(x.t_eq9)}, {"granularity", x.granularity},
                          {"units", jnum(x.units)}, {"log10_n_exh", jnum(x.log10_n)}, {"log10_t_exh_s", jnum(x.log10_t)},
                          {"log10_speedup", jnum(x.log10_speedup)}, {"log10_speedup_eq9", jnum(x.log10_speedup_eq9)},
                          {"measured_speedup", jnum(x.measured)}});
        report["search_runtime"] = jr;
    }
    tables.emplace_back("report.json", report.dump(1) + "\n");

    const fs::path plots = f.dir / "plots";
    std::error_code ec;
    fs::create_directories(plots, ec);
    if (ec) throw Error(plots.string() + ": cannot create: " + ec.message());
    std::vector<std::string> written;
    const auto put = [&](const std::string& name, const std::string& content) {
        write_file_atomic((plots / name).string(), content);
        written.push_back((plots / name).string());
    };
    for (const auto& [name, content] : tables) put(name, content);
    for (const auto& fig : figs) {
        for (const auto& [name, content] : fig.data) put(name, content);
        put(fig.name + ".gp", script_of(fig));
    }
    for (const auto& n : notes) notices << "notice: " << n << "\n";

    const std::optional<std::string> gnuplot = find_on_path("gnuplot");
    if (!gnuplot) {
        notices << "gnuplot not found: plots skipped (data and scripts are in " << plots.string() << ")\n";
        return written;
    }
    std::vector<std::string> failures;
    const std::string tag = ".tmp." + std::to_string(::getpid());
    for (const auto& fig : figs) {
        const std::string png = fig.name + ".png", svg = fig.name + ".svg";
        const ProcessResult r =
            run_process(plots.string(), {*gnuplot, "-e", "PNG=" + gp(png + tag) + "; SVG=" + gp(svg + tag), fig.name + ".gp"});
        bool ok = r.status == 0;
        for (const auto& out : {png, svg}) {
            std::error_code e2;
            ok = ok && fs::file_size(plots / (out + tag), e2) > 0 && !e2;
        }
        if (!ok) {
            for (const auto& out : {png, svg}) fs::remove(plots / (out + tag), ec);
            failures.push_back(fig.name + ".gp" +
                               (r.err.empty() ? strf(" (exit status %d)", r.status) : ": " + one_line(last_line(r.err))));
            continue;
        }
        for (const auto& out : {png, svg}) {
            sync_and_rename(plots / (out + tag), plots / out);
            written.push_back((plots / out).string());
        }
    }
    if (!failures.empty())
        throw Error(plots.string() + ": gnuplot failed on " + failures.front() +
                    (failures.size() > 1 ? strf(" (and %zu more scripts)", failures.size() - 1) : ""));
    return written;
}

}  // namespace hawx::report
