#pragma once
// Internal to the report library: the run folder read back (checked JSON and CSV access,
// results.json), and the pieces the tables, figures and gnuplot files share.
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hawx/sdk/error.hpp"

namespace hawx::report::detail {

namespace fs = std::filesystem;
using json = nlohmann::json;

inline const double kNaN = std::numeric_limits<double>::quiet_NaN();
inline const char* const kGranularities[] = {"layer", "filter", "operation"};

std::string strf(const char* format, ...) __attribute__((format(printf, 1, 2)));

std::string num_or_dash(double v, const char* format);
std::string one_line(std::string s);

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

struct RunFiles {
    fs::path dir;
    std::optional<JsonDoc> results, scores, representatives, state;
    std::optional<Csv> model_scores;
    std::vector<std::pair<std::string, Csv>> pareto;  // by accelerator name, sorted
};

struct AccelResult {
    std::string name, realized;
    double power_mw = kNaN, area_um2 = kNaN, power_norm = kNaN, area_norm = kNaN;
    // accuracies of what this accelerator runs, where it differs from what the search judged
    double val = kNaN, test = kNaN;
};

struct SearchResultRow {
    std::string strategy, component, configuration;
    std::string objective;  // the accelerator the search minimized; empty: the only one
    double drop = kNaN, threshold = kNaN, evaluations = kNaN, cache_hits = kNaN, wall = kNaN;
    bool found = false, meets = false;
    double val = kNaN, test = kNaN, ci = kNaN;
    std::vector<AccelResult> accelerators;
    // best.finetune: the answer fine-tuned (judged: the search judged configurations after fine-tuning)
    bool finetuned = false, ft_judged = false, ft_meets = false;
    double ft_val_before = kNaN, ft_val_after = kNaN, ft_test_before = kNaN, ft_test_after = kNaN, ft_ci = kNaN;
    double ft_epochs = kNaN, ft_seconds = kNaN;
    std::vector<std::pair<std::string, double>> units;  // granularity (layer, filter, operation) -> units (eq. 7's exponent)
    bool exhaustive() const { return strategy == "exhaustive" || component == "search.exhaustive"; }
};

struct Results {
    std::string model, granularity;
    std::vector<std::string> blocks;
    double float_val = kNaN, float_test = kNaN, exact_val = kNaN, exact_test = kNaN;
    double t_eval = kNaN, t_prof = kNaN, t_score = kNaN, t_rep = kNaN;
    double t_finetune = kNaN, t_eval_raw = kNaN;  // exploration.finetune_in_loop: t_eval = both
    std::vector<SearchResultRow> searches;
};

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

struct ModelScore {
    std::string block;
    double mean = kNaN, accuracy = kNaN;
};

struct ModelScores {
    std::string source, accuracy_label;
    std::vector<ModelScore> rows;
};

struct Rho {
    double rho = kNaN;
    std::size_t n = 0;
};

struct RuntimeRow {
    const SearchResultRow* search = nullptr;
    std::string granularity;
    double units = kNaN, log10_n = kNaN, log10_t = kNaN;
    double t_hawx = kNaN, t_eq9 = kNaN;                  // seconds
    double log10_speedup = kNaN, log10_speedup_eq9 = kNaN;
    double measured = kNaN;                              // exhaustive's time / HAWX's time, same threshold
};

struct Figure {
    std::string name;                                        // file stem
    std::vector<std::pair<std::string, std::string>> data;  // file name, content
    std::string body;                                        // gnuplot commands drawing the figure
    std::string preamble;                                    // before the output loop (data blocks)
    int width = 900, height = 600;
};

RunFiles read_run(const std::string& run_dir);

Results parse_results(const JsonDoc& d);

std::optional<TableI> table1(const JsonDoc& d, std::vector<std::string>& notes);

// model_scores.csv (hawx run), else scores.json's model_scores when `hawx score --measure` added accuracies.
std::optional<ModelScores> model_scores(const RunFiles& f);

// Over the blocks whose score and accuracy were both measured (an exact block's 0 counts).
Rho rho_of(const ModelScores& m);

// N_exh = B^units (eq. 7), T_exh = N_exh * t_eval (eq. 8). HAWX's time: t_prof + t_score +
// its search's measured wall time, and eq. 9's estimate t_prof + t_score + evaluations * t_eval
// (t_score is the time to score all B blocks, i.e. eq. 9's B * t_score).
std::vector<RuntimeRow> runtime_rows(const Results& r);

std::string table1_csv(const TableI& t);

json jnum(double v);

std::string runtime_csv(const std::vector<RuntimeRow>& rows, const Results& r);

// gnuplot single-quoted string ('' is a quote).
std::string gp(const std::string& s);

std::string script_of(const Figure& fig);

std::optional<Figure> fig2(const JsonDoc& d, std::vector<std::string>& notes);

std::vector<Figure> fig3(const JsonDoc& d, std::vector<std::string>& notes);

std::optional<Figure> fig4(const ModelScores& m, std::vector<std::string>& notes);

std::vector<Figure> fig5(const RunFiles& f, const std::optional<Results>& res, std::vector<std::string>& notes);

}  // namespace hawx::report::detail
