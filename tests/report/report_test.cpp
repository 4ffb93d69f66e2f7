// hawx report on a hand-made run folder whose numbers are known: every printed value is
// checked against a value the test computes itself (eq. 7-9 by hand, Spearman's rho by the
// d^2 formula, normalized costs copied from the input), every plot file by its row count.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hawx/sdk/error.hpp"
#include "hawx/report/report.hpp"

namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("hawx_report_test_" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

void put(const fs::path& p, const std::string& content) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string l; std::getline(ss, l);) out.push_back(l);
    return out;
}

std::vector<std::string> tokens(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream ss(line);
    for (std::string t; ss >> t;) out.push_back(t);
    return out;
}

// The first line containing every one of `parts`.
std::string line_with(const std::string& text, const std::vector<std::string>& parts) {
    for (const auto& l : lines_of(text)) {
        bool all = true;
        for (const auto& p : parts) all = all && l.find(p) != std::string::npos;
        if (all) return l;
    }
    return "";
}

// Data lines of a gnuplot .dat file (comments excluded).
std::vector<std::vector<std::string>> data_rows(const fs::path& p) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : lines_of(slurp(p)))
        if (!l.empty() && l[0] != '#') rows.push_back(tokens(l));
    return rows;
}

// ---------------------------------------------------------------- the hand-made run folder
// 3 blocks (B = 3), layer granularity, 2 layers (units: 2 layers, 10 filters), t_eval 2 s,
// t_prof 0.5 s, t_score 0.25 s.
const char* kResults = R"({
 "model": "toy", "granularity": "layer", "blocks": ["EX", "A", "B"],
 "baseline": {"float": {"validation": 91.0, "test": 90.5}, "exact": {"validation": 90.0, "test": 89.5}},
 "timing": {"t_eval_s": 2.0, "t_prof_s": 0.5, "t_score_s": 0.25, "t_representatives_s": 1.0},
 "searches": [
  {"strategy": "hawx", "component": "search.hawx", "max_drop": 1.0, "threshold": 89.0, "evaluations": 4,
   "cache_hits": 1, "wall_s": 10.0, "log": "x.jsonl",
   "best": {"configuration": "1:A 2:B", "validation_accuracy": 89.5, "test_accuracy": 89.25, "test_ci95": 0.61,
            "test_meets_threshold": true,
            "accelerators": [
              {"accelerator": "dataflow", "realized": "1:A 2:B", "changes": [], "power_mw": 40.7, "area_um2": 1000.0,
               "latency_cycles": 10, "energy_nj": 1, "utilization": 0.5, "power_norm": 0.8137, "area_norm": 0.7071},
              {"accelerator": "perun", "realized": "1:A 2:B", "changes": [], "power_mw": 4.5, "area_um2": 800.0,
               "latency_cycles": 10, "energy_nj": 1, "utilization": 0.5, "power_norm": 0.6543, "area_norm": 0.5432}]},
   "accounting": {"layer": {"units": 2}, "filter": {"units": 10}}},
  {"strategy": "exhaustive", "component": "search.exhaustive", "max_drop": 1.0, "threshold": 89.0, "evaluations": 9,
   "cache_hits": 0, "wall_s": 30.0,
   "best": {"configuration": "1:B 2:A", "validation_accuracy": 89.75, "test_accuracy": 89.0, "test_ci95": 0.62,
            "test_meets_threshold": true,
            "accelerators": [
              {"accelerator": "dataflow", "power_mw": 38.0, "area_um2": 990.0, "power_norm": 0.7777, "area_norm": 0.6666},
              {"accelerator": "perun", "power_mw": 4.1, "area_um2": 700.0, "power_norm": 0.6111, "area_norm": 0.5111}]},
   "accounting": {"layer": {"units": 2}, "filter": {"units": 10}}},
  {"strategy": "hawx", "component": "search.hawx", "max_drop": 0.25, "threshold": 89.75, "evaluations": 3,
   "cache_hits": 0, "wall_s": 6.0, "best": null,
   "accounting": {"layer": {"units": 2}, "filter": {"units": 10}}}
 ]
})";

// Two layers: conv1 with 3 filters, fc1 with 4. A is the least aggressive positive block
// (2e-6), B the most (5e-5); EX scores 0 and is never chosen.
const char* kScores = R"({
 "metric": "metrics.hawx", "blocks": ["EX", "A", "B", "C"],
 "model_scores": [{"block": "EX", "mean": 0.0, "sum": 0.0}, {"block": "A", "mean": 2e-6, "sum": 1.0},
                  {"block": "B", "mean": 5e-5, "sum": 9.0}, {"block": "C", "mean": 1e-5, "sum": 5.0}],
 "layers": [
  {"index": 1, "name": "conv1", "scores": [
    {"block": "EX", "operations": 100, "mean": 0.0, "sum": 0.0, "filter_mean": [0, 0, 0], "filter_sum": [0, 0, 0]},
    {"block": "A", "operations": 100, "mean": 1.5e-6, "sum": 1, "filter_mean": [1e-6, 2e-6, 1.5e-6], "filter_sum": [1, 1, 1]},
    {"block": "B", "operations": 100, "mean": 4e-5, "sum": 1, "filter_mean": [3e-5, 6e-5, 2e-5], "filter_sum": [1, 1, 1]},
    {"block": "C", "operations": 100, "mean": 9e-6, "sum": 1, "filter_mean": [8e-6, 9e-6, 1e-5], "filter_sum": [1, 1, 1]}]},
  {"index": 2, "name": "fc1", "scores": [
    {"block": "EX", "operations": 50, "mean": 0.0, "sum": 0.0, "filter_mean": [0, 0, 0, 0], "filter_sum": [0, 0, 0, 0]},
    {"block": "A", "operations": 50, "mean": 2.5e-6, "sum": 1, "filter_mean": [4e-6, 1e-6, 3e-6, 2e-6], "filter_sum": [1, 1, 1, 1]},
    {"block": "B", "operations": 50, "mean": 6e-5, "sum": 1, "filter_mean": [8e-5, 9e-5, 1e-5, 5e-5], "filter_sum": [1, 1, 1, 1]},
    {"block": "C", "operations": 50, "mean": 1e-5, "sum": 1, "filter_mean": [1e-5, 1e-5, 1e-5, 1e-5], "filter_sum": [1, 1, 1, 1]}]}],
 "distributions": {
  "log_bin_edges": [1e-8, 1e-7, 1e-6, 1e-5, 1e-4],
  "rows": [
   {"layer": 1, "name": "conv1", "block": "EX", "operations": 100, "bins": [100, 0, 0, 0, 0, 0, 0]},
   {"layer": 1, "name": "conv1", "block": "A", "operations": 100, "bins": [10, 0, 20, 30, 40, 0, 0]},
   {"layer": 1, "name": "conv1", "block": "B", "operations": 100, "bins": [0, 0, 0, 0, 50, 50, 0]},
   {"layer": 2, "name": "fc1", "block": "EX", "operations": 50, "bins": [50, 0, 0, 0, 0, 0, 0]},
   {"layer": 2, "name": "fc1", "block": "A", "operations": 50, "bins": [0, 0, 0, 10, 20, 20, 0]},
   {"layer": 2, "name": "fc1", "block": "B", "operations": 50, "bins": [0, 0, 0, 0, 0, 25, 25]},
   {"layer": 0, "name": "model", "block": "EX", "operations": 150, "bins": [150, 0, 0, 0, 0, 0, 0]},
   {"layer": 0, "name": "model", "block": "A", "operations": 150, "bins": [10, 0, 20, 40, 60, 20, 0]},
   {"layer": 0, "name": "model", "block": "B", "operations": 150, "bins": [0, 0, 0, 0, 50, 75, 25]}]}
})";

// Four histogram bins, two representatives.
const char* kRepresentatives = R"({
 "ids": [7, 3], "cluster_sizes": [60, 40], "centroids": [[0, 1], [1, 0]], "stats": [[0.1, 1.0], [0.9, 0.2]],
 "edges": [0, 1, 2, 3, 4], "density_all": [0.1, 0.2, 0.3, 0.4], "density_representatives": [0.15, 0.25, 0.25, 0.35],
 "density_per_representative": [[0.2, 0.2, 0.3, 0.3], [0.1, 0.3, 0.2, 0.4]]
})";

// Six blocks, no ties in either column (for the d^2 formula of Spearman's rho).
const char* kModelScores =
    "block,hawx_model_mean,hawx_model_sum,validation_accuracy,power_mw,area_um2\n"
    "EX,0.000000000000,0,90.0000,80,1000\n"
    "A,0.000002000000,1,89.0000,70,900\n"
    "B,0.000050000000,9,12.0000,50,700\n"
    "C,0.000010000000,5,85.0000,60,800\n"
    "D,0.000003000000,2,89.5000,65,850\n"
    "E,0.000007000000,3,70.0000,55,750\n";

const char* kParetoDataflow =
    "accuracy,power,area,configuration,strategy\n"
    "90,1,1,1-2:EX,hawx\n"
    "89.75,0.7777,0.6666,\"1,2:B\",exhaustive\n"
    "12,0.6,0.55,1-2:B,hawx\n";
const char* kParetoPerun =
    "accuracy,power,area,configuration,strategy\n"
    "90,1,1,1-2:EX,hawx\n"
    "89.75,0.6111,0.5111,1:B 2:A,exhaustive\n";

class Report : public ::testing::Test {
protected:
    TempDir tmp;
    fs::path run;

    void SetUp() override {
        run = tmp.path / "run";
        put(run / "results.json", kResults);
        put(run / "scores.json", kScores);
        put(run / "representatives.json", kRepresentatives);
        put(run / "model_scores.csv", kModelScores);
        put(run / "pareto_dataflow.csv", kParetoDataflow);
        put(run / "pareto_perun.csv", kParetoPerun);
        put(run / "run.json", R"({"experiment": "x", "status": "complete"})");
    }
    std::string report() const {
        std::ostringstream os;
        hawx::report::print_report(run.string(), os);
        return os.str();
    }
};

// Every file under `dir` except plots/, with its content.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
    std::map<std::string, std::string> s;
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
        if (it->path() == dir / "run" / "plots") {
            it.disable_recursion_pending();
            continue;
        }
        s[it->path().string()] = it->is_regular_file() ? slurp(it->path()) : "<dir>";
    }
    return s;
}

// Runs the built hawx; stdout and stderr captured.
struct CliRun {
    int code;
    std::string out, err;
};
CliRun hawx_cli(const std::string& args) {
    TempDir io;
    const std::string out = (io.path / "out").string(), err = (io.path / "err").string();
    const std::string cmd = "'" HAWX_EXE "' " + args + " > '" + out + "' 2> '" + err + "' < /dev/null";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

// ---------------------------------------------------------------- printed tables

TEST_F(Report, TableTwoRowsCarryTheNormalizedCostsAndAccuracies) {
    const std::string text = report();
    const std::string df = line_with(text, {"hawx ", " 1.00 ", "dataflow"});
    ASSERT_FALSE(df.empty()) << text;
    for (const char* v : {"89.00", "1:A 2:B", "89.50", "89.25+-0.61", "0.814", "0.707", "40.700", "1000.0"})
        EXPECT_NE(df.find(v), std::string::npos) << v << " in: " << df;
    const std::string pe = line_with(text, {"hawx ", " 1.00 ", "perun"});
    for (const char* v : {"0.654", "0.543", "4.500", "800.0"}) EXPECT_NE(pe.find(v), std::string::npos) << v << " in: " << pe;
    const std::string ex = line_with(text, {"int8-exact", "(all exact)"});
    for (const char* v : {"90.00", "89.50", "1.000"}) EXPECT_NE(ex.find(v), std::string::npos) << ex;
    EXPECT_FALSE(line_with(text, {"hawx ", " 0.25 ", "(none meets the threshold)"}).empty()) << text;
    EXPECT_NE(text.find("baseline: float 90.50% test / 91.00% validation; int8-exact 89.50% test / 90.00% validation"),
              std::string::npos);
}

TEST_F(Report, TableOneComparesTheLeastAndMostAggressiveBlocks) {
    const std::string text = report();
    EXPECT_NE(line_with(text, {"A (least)", "B (most)"}), "") << text;
    // Sample filters: the first, and B's smallest and largest hawx(f) in each layer.
    const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> expected = {
        {{" model ", "e-0"}, {"2.000e-06", "5.000e-05"}},
        {{"1 conv1", "layer"}, {"1.500e-06", "4.000e-05"}},
        {{"1 conv1", "filter 0 "}, {"1.000e-06", "3.000e-05"}},
        {{"1 conv1", "filter 1 (max)"}, {"2.000e-06", "6.000e-05"}},
        {{"1 conv1", "filter 2 (min)"}, {"1.500e-06", "2.000e-05"}},
        {{"2 fc1", "layer"}, {"2.500e-06", "6.000e-05"}},
        {{"2 fc1", "filter 0 "}, {"4.000e-06", "8.000e-05"}},
        {{"2 fc1", "filter 1 (max)"}, {"1.000e-06", "9.000e-05"}},
        {{"2 fc1", "filter 2 (min)"}, {"3.000e-06", "1.000e-05"}},
    };
    for (const auto& [where, values] : expected) {
        const std::string l = line_with(text, where);
        ASSERT_FALSE(l.empty()) << where[0] << "\n" << text;
        const auto t = tokens(l);
        ASSERT_GE(t.size(), 2u);
        EXPECT_EQ(t[t.size() - 2], values[0]) << l;
        EXPECT_EQ(t[t.size() - 1], values[1]) << l;
    }
    EXPECT_EQ(line_with(text, {"2 fc1", "filter 3"}), "") << "filter 3 is neither first, min nor max";
}

TEST_F(Report, SpearmanRhoMatchesTheRankDifferenceFormula) {
    // No ties: rho = 1 - 6 sum d^2 / (n (n^2 - 1)), ranks by counting smaller values.
    const std::vector<double> mean = {0, 2e-6, 5e-5, 1e-5, 3e-6, 7e-6}, acc = {90, 89, 12, 85, 89.5, 70};
    const auto rank = [](const std::vector<double>& v, std::size_t i) {
        return 1.0 + static_cast<double>(std::count_if(v.begin(), v.end(), [&](double x) { return x < v[i]; }));
    };
    double d2 = 0;
    for (std::size_t i = 0; i < mean.size(); ++i) d2 += std::pow(rank(mean, i) - rank(acc, i), 2);
    const double n = 6, rho = 1 - 6 * d2 / (n * (n * n - 1));
    EXPECT_NEAR(rho, -0.8857, 1e-4);  // sum d^2 = 66
    const std::string text = report();
    EXPECT_NE(text.find("Spearman rho(hawx(model), validation accuracy) = " + fmt("%.3f", rho) + " over 6 blocks"),
              std::string::npos)
        << text;
}

TEST_F(Report, SpearmanRhoGivesTiedScoresTheirMeanRank) {
    put(run / "model_scores.csv", "block,hawx_model_mean,validation_accuracy\nEX,0,90\nEX2,0,89\nA,1e-6,80\nB,2e-6,10\n");
    // Ranks of the scores 1.5 1.5 3 4, of the accuracies 4 3 2 1; deviations from the mean rank
    // 2.5: (-1 -1 .5 1.5) and (1.5 .5 -.5 -1.5): sxy = -4.5, sxx = 4.5, syy = 5.
    const double rho = -4.5 / std::sqrt(4.5 * 5.0);
    const std::string text = report();
    EXPECT_NE(text.find("Spearman rho(hawx(model), validation accuracy) = " + fmt("%.3f", rho) + " over 4 blocks"),
              std::string::npos)
        << text;
}

TEST_F(Report, RuntimeComparisonFollowsEquationsSevenToNine) {
    const std::string text = report();
    const double B = 3, t_eval = 2, t_pre = 0.5 + 0.25;
    const auto speed = [](double v) { return v < 10 ? fmt("%.2fx", v) : fmt("%.0fx", v); };
    // eq. 7 and 8 per granularity.
    for (const auto& [g, units] : std::vector<std::pair<std::string, double>>{{"layer", 2}, {"filter", 10}}) {
        const auto t = tokens(line_with(text, {g + " ", "units", "log10 N_exh"}));
        ASSERT_EQ(t.size(), 9u) << text;
        EXPECT_EQ(t[2], fmt("%.0f", units));
        EXPECT_EQ(t[5], fmt("%.3f", std::log10(std::pow(B, units))));
        EXPECT_EQ(t[8], fmt("%.3f", std::log10(std::pow(B, units) * t_eval)));
    }
    // strategy drop evals cache wall T_HAWX eq9 level speedup speedup_eq9 measured
    struct Expect {
        std::string drop;
        double evals, wall;
        std::string level;
        double units;
        bool measured;
    };
    for (const Expect& e : {Expect{"1.00", 4, 10, "layer", 2, true}, Expect{"1.00", 4, 10, "filter", 10, false},
                            Expect{"0.25", 3, 6, "layer", 2, false}}) {
        std::string line;
        for (const auto& l : lines_of(text)) {
            const auto t = tokens(l);
            if (t.size() == 11 && t[0] == "hawx" && t[1] == e.drop && t[7] == e.level) line = l;
        }
        ASSERT_FALSE(line.empty()) << e.drop << " " << e.level << "\n" << text;
        const auto t = tokens(line);
        const double t_exh = std::pow(B, e.units) * t_eval, t_hawx = t_pre + e.wall, t_eq9 = t_pre + e.evals * t_eval;
        EXPECT_EQ(t[5], fmt("%.2f", t_hawx)) << line;
        EXPECT_EQ(t[6], fmt("%.2f", t_eq9)) << line;
        EXPECT_EQ(t[8], speed(t_exh / t_hawx)) << line;
        EXPECT_EQ(t[9], speed(t_exh / t_eq9)) << line;
        // Measured: the exhaustive search at the same threshold (30 s) over HAWX's time.
        EXPECT_EQ(t[10], e.measured ? fmt("%.2fx", 30.0 / t_hawx) : "-") << line;
    }
    EXPECT_EQ(speed(std::pow(3.0, 2) * 2 / 10.75), "1.67x");  // the numbers above, once by hand
    EXPECT_EQ(speed(std::pow(3.0, 10) * 2 / 8.75), "13497x");
    EXPECT_NE(text.find("exhaustive at drop 1.00: 9 evaluations measured vs N_exh = 3^2 = 9 (eq. 7); wall 30.00 s vs "
                        "T_exh = 18.00 s (eq. 8)"),
              std::string::npos)
        << text;
}

// ---------------------------------------------------------------- plots

TEST_F(Report, WithoutGnuplotTheDataAndScriptsAreWrittenAndANoticeSaysSo) {
    TempDir empty;
    const std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
    setenv("PATH", empty.path.c_str(), 1);
    std::ostringstream notices;
    std::vector<std::string> written;
    try {
        written = hawx::report::render_plots(run.string(), notices);
    } catch (...) {
        setenv("PATH", saved.c_str(), 1);
        throw;
    }
    setenv("PATH", saved.c_str(), 1);
    const fs::path plots = run / "plots";
    EXPECT_NE(notices.str().find("gnuplot not found: plots skipped (data and scripts are in " + plots.string() + ")\n"),
              std::string::npos)
        << notices.str();
    // EX scores 0 everywhere: no distribution on a log axis, and not on fig. 4's log axis.
    EXPECT_NE(notices.str().find("fig3: block EX has no nonzero hawx(o)"), std::string::npos) << notices.str();
    EXPECT_NE(notices.str().find("fig4: blocks with hawx(model) = 0 (in rho, not on the log axis): EX"), std::string::npos);

    const std::vector<std::string> figures = {"fig2_activations", "fig3_score_distribution_A", "fig3_score_distribution_B",
                                              "fig3_score_distribution_model", "fig4_score_vs_accuracy",
                                              "fig5_tradeoff_dataflow", "fig5_tradeoff_perun"};
    for (const auto& f : figures) {
        EXPECT_TRUE(fs::is_regular_file(plots / (f + ".gp"))) << f;
        EXPECT_FALSE(fs::exists(plots / (f + ".png"))) << f;
        EXPECT_FALSE(fs::exists(plots / (f + ".svg"))) << f;
    }
    EXPECT_FALSE(fs::exists(plots / "fig3_score_distribution_EX.gp"));

    // fig. 2: one row per histogram bin: center, whole set, together, one per representative.
    const auto f2 = data_rows(plots / "fig2_activations.dat");
    ASSERT_EQ(f2.size(), 4u);
    EXPECT_EQ(f2[0], (std::vector<std::string>{"0.5", "0.1", "0.15", "0.2", "0.1"}));
    EXPECT_EQ(f2[3], (std::vector<std::string>{"3.5", "0.4", "0.35", "0.3", "0.4"}));
    // fig. 3, block A: log bins 0..3 hold counts (conv1: 20, 30, 40 of 100; fc1: 0, 10, 20, 20 of 50).
    const auto f3 = data_rows(plots / "fig3_score_distribution_A.dat");
    ASSERT_EQ(f3.size(), 4u);
    ASSERT_EQ(f3[0].size(), 5u);
    EXPECT_EQ(f3[0][0], "1e-08");
    EXPECT_EQ(f3[0][1], "1e-07");
    EXPECT_DOUBLE_EQ(std::stod(f3[0][2]), std::sqrt(1e-8 * 1e-7));  // geometric center on the log axis
    EXPECT_EQ(f3[0][3], "0.2");
    EXPECT_EQ(f3[0][4], "0");
    EXPECT_EQ(f3[3][3], "0");
    EXPECT_EQ(f3[3][4], "0.4");
    // B: counts in log bins 2 and 3 only, one padding bin below: bins 1..3.
    EXPECT_EQ(data_rows(plots / "fig3_score_distribution_B.dat").size(), 3u);
    const auto f3m = data_rows(plots / "fig3_score_distribution_model.dat");
    ASSERT_FALSE(f3m.empty());
    EXPECT_EQ(f3m[0].size(), 5u);  // 3 bin columns + blocks A and B
    // fig. 4: the five blocks with a positive score.
    const auto f4 = data_rows(plots / "fig4_score_vs_accuracy.dat");
    ASSERT_EQ(f4.size(), 5u);
    EXPECT_EQ(f4[0], (std::vector<std::string>{"\"A\"", "2e-06", "89"}));
    EXPECT_NE(slurp(plots / "fig4_score_vs_accuracy.gp").find("Spearman rho = -0.886, 6 blocks"), std::string::npos);
    // fig. 5: the Pareto rows (sorted by power) and the two searches that found a configuration.
    const auto p = data_rows(plots / "fig5_tradeoff_dataflow_pareto.dat");
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[0][0], "0.6");
    EXPECT_EQ(p[1][3], "\"1,2:B");  // quoted configuration with a comma survives the CSV
    const auto s = data_rows(plots / "fig5_tradeoff_dataflow_searches.dat");
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ((std::vector<std::string>{s[0][0], s[0][1], s[0][2]}), (std::vector<std::string>{"0.8137", "0.7071", "89.5"}));
    EXPECT_EQ(data_rows(plots / "fig5_tradeoff_perun_pareto.dat").size(), 2u);
    // The tables as CSV: Table I has 2 blocks x (model + 2 layers + 6 filters) rows.
    EXPECT_EQ(lines_of(slurp(plots / "table1.csv")).size(), 1u + 2 * 9);
    EXPECT_EQ(lines_of(slurp(plots / "search_runtime.csv")).size(), 1u + 2 + 1 + 2);  // exhaustive: its own level
    for (const auto& w : written) EXPECT_EQ(fs::path(w).parent_path(), plots) << w;
}

TEST_F(Report, WithGnuplotEveryFigureIsRenderedAsPngAndSvg) {
    bool found = false;
    std::stringstream path(std::getenv("PATH") ? std::getenv("PATH") : "");
    for (std::string d; std::getline(path, d, ':');) found = found || ::access((fs::path(d) / "gnuplot").c_str(), X_OK) == 0;
    if (!found) GTEST_SKIP() << "gnuplot not installed";
    std::ostringstream notices;
    hawx::report::render_plots(run.string(), notices);
    EXPECT_EQ(notices.str().find("gnuplot not found"), std::string::npos);
    for (const char* f : {"fig2_activations", "fig3_score_distribution_A", "fig3_score_distribution_B",
                          "fig3_score_distribution_model", "fig4_score_vs_accuracy", "fig5_tradeoff_dataflow",
                          "fig5_tradeoff_perun"}) {
        const std::string png = slurp(run / "plots" / (std::string(f) + ".png"));
        const std::string svg = slurp(run / "plots" / (std::string(f) + ".svg"));
        EXPECT_EQ(png.substr(0, 4), "\x89PNG") << f;
        EXPECT_GT(png.size(), 1000u) << f;
        EXPECT_NE(svg.find("<svg"), std::string::npos) << f;
    }
    for (const auto& e : fs::directory_iterator(run / "plots"))
        EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

TEST_F(Report, NothingIsWrittenOutsidePlots) {
    const auto before = snapshot(tmp.path);
    report();
    std::ostringstream notices;
    hawx::report::render_plots(run.string(), notices);
    hawx::report::render_plots(run.string(), notices);  // re-rendering replaces the files
    EXPECT_EQ(snapshot(tmp.path), before);
}

// ---------------------------------------------------------------- bad and partial input

TEST_F(Report, MalformedResultsExitTwoWithOneLineNamingTheFile) {
    put(run / "results.json", "{\"searches\": [ 1, \n");
    const CliRun r = hawx_cli("report '" + run.string() + "'");
    EXPECT_EQ(r.code, 2) << r.out << r.err;
    EXPECT_EQ(r.out, "");  // nothing printed before the error
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("hawx: " + (run / "results.json").string() + ": not valid JSON", 0), 0u) << r.err;
    EXPECT_FALSE(fs::exists(run / "plots"));
}

TEST_F(Report, WrongTypeNamesTheFileAndTheValue) {
    std::string bad = kResults;
    bad.replace(bad.find("\"wall_s\": 30.0"), 14, "\"wall_s\": \"30\"");
    put(run / "results.json", bad);
    try {
        report();
        FAIL() << "no error";
    } catch (const hawx::Error& e) {
        EXPECT_EQ(std::string(e.what()), (run / "results.json").string() + ": searches[1].wall_s: expected a number, got string");
    }
    std::ostringstream notices;
    EXPECT_THROW(hawx::report::render_plots(run.string(), notices), hawx::Error);
    EXPECT_FALSE(fs::exists(run / "plots"));  // checked before anything is written
}

TEST_F(Report, NonNumericCsvCellNamesFileLineAndColumn) {
    put(run / "model_scores.csv", "block,hawx_model_mean,validation_accuracy\nA,1e-6,90\nB,2e-6,high\n");
    try {
        report();
        FAIL() << "no error";
    } catch (const hawx::Error& e) {
        EXPECT_EQ(std::string(e.what()),
                  (run / "model_scores.csv").string() + ": line 3, column 'validation_accuracy': 'high' is not a number");
    }
    put(run / "model_scores.csv", "block,hawx_model_mean,validation_accuracy\nA,1e-6\n");
    EXPECT_THROW(report(), hawx::Error);
}

TEST_F(Report, MissingFilesSkipTheirPartsWithNotices) {
    for (const char* f : {"scores.json", "representatives.json", "model_scores.csv", "pareto_dataflow.csv",
                          "pareto_perun.csv"})
        fs::remove(run / f);
    const std::string text = report();
    EXPECT_NE(text.find("notice: scores.json not found: Table I skipped"), std::string::npos) << text;
    EXPECT_NE(text.find("notice: model_scores.csv not found"), std::string::npos) << text;
    EXPECT_FALSE(line_with(text, {"hawx ", " 1.00 ", "dataflow", "0.814"}).empty()) << text;  // Table II still there
    TempDir empty;
    const std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
    setenv("PATH", empty.path.c_str(), 1);
    std::ostringstream notices;
    hawx::report::render_plots(run.string(), notices);
    setenv("PATH", saved.c_str(), 1);
    EXPECT_NE(notices.str().find("notice: representatives.json not found: fig2_activations skipped"), std::string::npos);
    EXPECT_NE(notices.str().find("notice: scores.json not found"), std::string::npos);
    EXPECT_FALSE(fs::exists(run / "plots" / "fig2_activations.gp"));
    // fig. 5 still drawn from results.json's normalized costs.
    EXPECT_EQ(data_rows(run / "plots" / "fig5_tradeoff_dataflow_searches.dat").size(), 2u);
    EXPECT_EQ(data_rows(run / "plots" / "fig5_tradeoff_dataflow_pareto.dat").size(), 0u);
}

TEST(ReportCli, MissingRunFolderAndSuccess) {
    TempDir tmp;
    const CliRun missing = hawx_cli("report '" + (tmp.path / "nope").string() + "'");
    EXPECT_EQ(missing.code, 2);
    EXPECT_EQ(missing.err, "hawx: " + (tmp.path / "nope").string() + ": no such run folder\n");
    put(tmp.path / "r" / "results.json", kResults);
    const CliRun ok = hawx_cli("report '" + (tmp.path / "r").string() + "' --no-plots");
    EXPECT_EQ(ok.code, 0) << ok.err;
    EXPECT_NE(ok.out.find("== Table II analog"), std::string::npos);
    EXPECT_FALSE(fs::exists(tmp.path / "r" / "plots"));
}

}  // namespace
