// hawx run on a model, end to end: the result files, resumption after SIGKILL at several
// points (identical results to an uninterrupted run), MPI with 2 ranks and 1 vs 2 threads
// (identical results). Runs the real binary on a small LeNet-5 trained on synthetic data.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

extern char** environ;

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("hawx_pipeline_test_" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The experiment every case runs; `edit` changes it.
fs::path write_manifest(const fs::path& dir, const std::string& out, const std::function<void(json&)>& edit = {}) {
    json m = {
        {"hawx", 1},
        {"name", "pipe"},
        {"seed", 3},
        {"model", {{"checkpoint", HAWX_TEST_CHECKPOINT}}},
        {"dataset", {{"name", "synthetic"}}},
        {"quantization", {{"calibration_images", 500}}},
        {"profiling", {{"representatives", 4}, {"images", 1000}}},
        {"blocks",
         {{{"name", "EX"}, {"component", "core.exact_mul"}},
          {{"name", "T2"}, {"component", "core.truncated_mul"}, {"params", {{"k", 2}}}},
          {{"name", "T4"}, {"component", "core.truncated_mul"}, {"params", {{"k", 4}}}},
          {{"name", "T6"}, {"component", "core.truncated_mul"}, {"params", {{"k", 6}}}},
          {{"name", "BAM16"}, {"component", "core.bam_mul"}, {"params", {{"hbl", 1}, {"vbl", 6}}}}}},
        {"metric", {{"component", "metrics.hawx"}}},
        {"search",
         {{{"name", "lagrange"}, {"component", "search.hawx-lagrange"}},
          {{"name", "greedy"}, {"component", "search.greedy"}}}},
        {"accelerators",
         {{{"name", "dataflow"},
           {"component", "accelerators.dataflow"},
           {"params", {{"pe", "3,4,8,4,2"}, {"simd", "5,15,10,6,4"}, {"exact", "EX"}}}}}},
        {"exploration", {{"max_drop", {1, 3}}, {"threads", 2}}},
        {"output", {{"dir", out}}}};
    if (edit) edit(m);
    const fs::path p = dir / "manifest.json";
    std::ofstream(p) << m.dump(2);
    return p;
}

struct CmdResult {
    int code = -1;
    std::string out, err;
};

CmdResult run(const std::string& command) {
    TempDir io;
    const std::string o = (io.path / "out").string(), e = (io.path / "err").string();
    const int status = std::system((command + " > '" + o + "' 2> '" + e + "' < /dev/null").c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(o), slurp(e)};
}

std::string hawx_run(const fs::path& manifest, const std::string& extra = "") {
    return std::string("'") + HAWX_EXE + "' run '" + manifest.string() + "' " + extra;
}

std::size_t log_lines(const fs::path& run_dir) {
    std::size_t n = 0;
    if (!fs::is_directory(run_dir / "search")) return 0;
    for (const auto& e : fs::directory_iterator(run_dir / "search")) {
        if (e.path().extension() != ".jsonl") continue;
        const std::string s = slurp(e.path());
        for (char c : s) n += c == '\n';
        if (n > 0) --n;  // the header line
    }
    return n;
}

// Starts `hawx run manifest`, waits until `ready()` holds, then SIGKILLs it. Returns false
// when the process ended before that.
bool run_and_kill(const fs::path& manifest, const std::function<bool()>& ready) {
    std::vector<std::string> args = {HAWX_EXE, "run", manifest.string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    if (posix_spawn(&pid, HAWX_EXE, &fa, nullptr, argv.data(), environ) != 0) return false;
    posix_spawn_file_actions_destroy(&fa);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    bool killed = false;
    for (;;) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) break;  // ended on its own
        if (ready() || std::chrono::steady_clock::now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            killed = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return killed;
}

// Everything a run decides and measures, without times.
json run_summary(const fs::path& run_dir) {
    const json r = json::parse(slurp(run_dir / "results.json"));
    json c;
    c["baseline"] = r.at("baseline");
    for (const auto& s : r.at("searches")) {
        json e = {{"strategy", s.at("strategy")}, {"max_drop", s.at("max_drop")}, {"evaluations", s.at("evaluations")}};
        if (!s.at("best").is_null())
            e["best"] = {{"configuration", s["best"]["configuration"]},
                         {"validation_accuracy", s["best"]["validation_accuracy"]},
                         {"test_accuracy", s["best"]["test_accuracy"]},
                         {"accelerators", s["best"]["accelerators"]}};
        c["searches"].push_back(e);
    }
    c["model_scores"] = slurp(run_dir / "model_scores.csv");
    c["table2"] = slurp(run_dir / "table2.csv");
    c["pareto"] = slurp(run_dir / "pareto_dataflow.csv");
    std::vector<fs::path> logs;
    for (const auto& e : fs::directory_iterator(run_dir / "search"))
        if (e.path().extension() == ".jsonl") logs.push_back(e.path());
    std::sort(logs.begin(), logs.end());
    for (const auto& p : logs) {
        std::istringstream in(slurp(p));
        std::string line;
        bool header = true;
        while (std::getline(in, line)) {
            json j = json::parse(line);
            if (header) {
                header = false;
                c["log_headers"].push_back(j);
                continue;
            }
            j.erase("seconds");
            j.erase("timestamp");
            c["logs"][p.filename().string()].push_back(j);
        }
    }
    return c;
}

std::string fixed2(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.2f", v);
    return b;
}

TEST(Pipeline, WritesResultsAndMeetsThresholdsOnValidation) {
    TempDir t;
    const fs::path m = write_manifest(t.path, (t.path / "runs").string());
    const CmdResult r = run(hawx_run(m));
    ASSERT_EQ(r.code, 0) << r.err;
    const fs::path dir = t.path / "runs" / "pipe";
    EXPECT_EQ(json::parse(slurp(dir / "run.json")).at("status"), "complete");
    const json res = json::parse(slurp(dir / "results.json"));
    ASSERT_EQ(res.at("searches").size(), 4u);  // 2 strategies x 2 thresholds
    const double exact_val = res["baseline"]["exact"]["validation"].get<double>();
    for (const auto& s : res["searches"]) {
        const double threshold = s.at("threshold").get<double>();
        EXPECT_DOUBLE_EQ(threshold, exact_val - s.at("max_drop").get<double>());
        ASSERT_FALSE(s.at("best").is_null()) << s.dump();  // all-exact always meets it
        EXPECT_GE(s["best"]["validation_accuracy"].get<double>(), threshold) << s.dump();
        // Every full evaluation is one log line after the header.
        const std::string log = slurp(s.at("log").get<std::string>());
        EXPECT_EQ(static_cast<std::size_t>(std::count(log.begin(), log.end(), '\n')),
                  s.at("evaluations").get<std::size_t>() + 1);
        // The answer's paired test drop is the difference of the two test accuracies (same images).
        const json& td = s["best"].at("test_drop");
        EXPECT_NEAR(td.at("points").get<double>(),
                    res["baseline"]["exact"]["test"].get<double>() - s["best"]["test_accuracy"].get<double>(), 1e-9)
            << td.dump();
        EXPECT_EQ(td.at("images").get<std::size_t>(), res["baseline"].at("test_images").get<std::size_t>());
        EXPECT_GE(td.at("ci95").get<double>(), 0.0);
        // Sizing the validation split (the formula is checked in finetune_test's
        // Noise.ImagesForAnIntervalAreTheSmallestSplitThatReachesIt): reported with the split.
        const json& noise = s.at("validation_noise");
        EXPECT_EQ(noise.at("images").get<std::size_t>(), res["baseline"].value("validation_images", std::size_t{0})) << noise.dump();
        const auto need = noise.at("images_for_ci95_of_max_drop").get<std::size_t>();
        EXPECT_EQ(need == 0, exact_val >= 100.0 || exact_val <= 0.0) << noise.dump();
        if (need > 0)
            EXPECT_NE(r.out.find("+-" + fixed2(s.at("max_drop").get<double>()) + " needs " + std::to_string(need) + " images"),
                      std::string::npos);
        // Normalized dataflow power of the chosen configuration is at most the exact design's.
        const auto& a = s["best"]["accelerators"].at(0);
        EXPECT_LE(a.at("power_norm").get<double>(), 1.0 + 1e-12);
    }
    // A larger allowed drop never yields a more expensive choice for the same strategy.
    for (std::size_t i = 0; i < 4; i += 2)
        EXPECT_LE(res["searches"][i + 1]["best"]["accelerators"][0]["power_mw"].get<double>(),
                  res["searches"][i]["best"]["accelerators"][0]["power_mw"].get<double>() + 1e-9);
    // No strategy asked for a prediction: the drop predictor was never measured.
    EXPECT_EQ(r.out.find("drop predictor"), std::string::npos);
    const std::string table = slurp(dir / "table2.csv");
    EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 5);
    const std::string ms = slurp(dir / "model_scores.csv");
    EXPECT_EQ(std::count(ms.begin(), ms.end(), '\n'), 6);  // header + 5 blocks

    // The same command again: the finished folder is kept, a new one gets the same results.
    const CmdResult again = run(hawx_run(m));
    ASSERT_EQ(again.code, 0) << again.err;
    EXPECT_TRUE(fs::exists(t.path / "runs" / "pipe-2" / "results.json"));
    EXPECT_EQ(run_summary(dir), run_summary(t.path / "runs" / "pipe-2"));
}

// search.hawx-predict (issue 17): the drop predictor is measured once, on the first
// profiling.predictor_images training images, when the first search asks for it; every
// answer meets its threshold within the strategy's 5 evaluations.
TEST(Pipeline, PredictSearchMeasuresTheDropPredictorOnceOnTrainingImages) {
    TempDir t;
    const fs::path m = write_manifest(t.path, (t.path / "runs").string(), [](json& j) {
        j["search"] = {{{"name", "predict"}, {"component", "search.hawx-predict"}}};
        j["profiling"]["predictor_images"] = 300;
    });
    const CmdResult r = run(hawx_run(m));
    ASSERT_EQ(r.code, 0) << r.err;
    const json res = json::parse(slurp(t.path / "runs" / "pipe" / "results.json"));
    ASSERT_EQ(res.at("searches").size(), 2u);
    const std::string line = "drop predictor: every block in every layer on 300 training images (";
    const auto at = r.out.find(line);
    ASSERT_NE(at, std::string::npos) << r.out;
    EXPECT_EQ(r.out.find(line, at + 1), std::string::npos) << "measured twice";
    // 1 all-exact pass + (5 blocks - EX) per approximable layer
    const auto passes = std::stoul(r.out.substr(at + line.size()));
    const json resolved = json::parse(slurp(t.path / "runs" / "pipe" / "manifest.resolved.json"));
    EXPECT_EQ(resolved["profiling"]["predictor_images"], 300);
    EXPECT_EQ((passes - 1) % 4, 0u) << passes;
    EXPECT_GE(passes, 5u);
    // the free-moves check decides whether drops <= 0 are kept (signed) or replaced (>= 0)
    const auto fm = r.out.find("drop predictor: free moves (");
    const bool floored = fm != std::string::npos && r.out.find("not additive", fm) < r.out.find('\n', fm);
    // the predictor's table: one row per layer and block (EX included); the used drop is the
    // measured one, raised where saturated, and never negative once floored
    std::istringstream csv(slurp(t.path / "runs" / "pipe" / "drop_predictor.csv"));
    std::string row;
    ASSERT_TRUE(std::getline(csv, row));
    EXPECT_EQ(row, "layer,name,block,measured,loss_increase,used");
    std::size_t rows = 0;
    while (std::getline(csv, row)) {
        ++rows;
        std::vector<double> v;
        std::istringstream fields(row.substr(row.find(',', row.find(',', row.find(',') + 1) + 1) + 1));
        for (std::string f; std::getline(fields, f, ',');) v.push_back(std::stod(f));
        ASSERT_EQ(v.size(), 3u) << row;
        if (floored) EXPECT_GE(v[2], 0.0) << row;
        else EXPECT_GE(v[2], v[0]) << row;
        if (!floored && v[0] <= 0) EXPECT_DOUBLE_EQ(v[2], v[0]) << row;
    }
    EXPECT_EQ(rows, (passes - 1) / 4 * 5);
    // the whole configurations the searches measured there: one row each, as many as printed
    const std::string whole = "drop predictor: ";
    const auto wm = r.out.find(" configurations measured whole on its 300 training images");
    ASSERT_NE(wm, std::string::npos) << r.out;
    const auto measured = std::stoul(r.out.substr(r.out.rfind(whole, wm) + whole.size()));
    std::istringstream mcsv(slurp(t.path / "runs" / "pipe" / "drop_predictor_measured.csv"));
    ASSERT_TRUE(std::getline(mcsv, row));
    EXPECT_EQ(row, "configuration,training_drop");
    std::set<std::string> configs;
    while (std::getline(mcsv, row)) {
        const auto comma = row.rfind(',');
        ASSERT_NE(comma, std::string::npos) << row;
        EXPECT_TRUE(configs.insert(row.substr(0, comma)).second) << row;
        const double d = std::stod(row.substr(comma + 1));
        EXPECT_TRUE(d >= -100 && d <= 100) << row;
    }
    EXPECT_EQ(configs.size(), measured);
    EXPECT_GE(measured, 1u);
    for (const auto& s : res["searches"]) {
        ASSERT_FALSE(s.at("best").is_null()) << s.dump();
        EXPECT_GE(s["best"]["validation_accuracy"].get<double>(), s.at("threshold").get<double>()) << s.dump();
        EXPECT_LE(s.at("evaluations").get<std::size_t>(), 5u) << s.dump();
    }
}

// What is evaluated is what the accelerator runs: with a model that realizes every request
// as all-EX (fixture mode "realize"), every accuracy the searches see, and each answer's
// validation and test accuracy, are the int8-exact ones, and the answer names what was run.
TEST(Pipeline, AccuraciesAreThoseOfTheConfigurationTheAcceleratorRealizes) {
    TempDir t;
    const fs::path m = write_manifest(t.path, (t.path / "runs").string(), [](json& j) {
        j["accelerators"] = {{{"name", "fixed"}, {"component", "faulty.faulty"}, {"params", {{"mode", "realize"}, {"bad", "EX"}}}}};
        j["exploration"]["granularity"] = "filter";
        j["plugins"] = {{"paths", {HAWX_FAULTY_PLUGIN_DIR}}};
    });
    const CmdResult r = run(hawx_run(m));
    ASSERT_EQ(r.code, 0) << r.err << r.out;
    const fs::path run_dir = t.path / "runs" / "pipe";
    const json res = json::parse(slurp(run_dir / "results.json"));
    const double exact_val = res.at("baseline").at("exact").at("validation").get<double>();
    const double exact_test = res.at("baseline").at("exact").at("test").get<double>();
    std::size_t lines = 0, asked_other = 0;
    for (const auto& e : fs::directory_iterator(run_dir / "search")) {
        if (e.path().extension() != ".jsonl") continue;
        std::istringstream in(slurp(e.path()));
        std::string line;
        std::getline(in, line);
        EXPECT_TRUE(json::parse(line).at("context").contains("accuracy_of")) << line;
        while (std::getline(in, line)) {
            const json j = json::parse(line);
            EXPECT_DOUBLE_EQ(j.at("accuracy").get<double>(), exact_val) << line;
            asked_other += j.at("configuration") != "1-5:EX";
            ++lines;
        }
    }
    EXPECT_GT(lines, 4u);
    EXPECT_GT(asked_other, 0u);  // the searches did ask for approximate configurations
    for (const auto& s : res.at("searches")) {
        ASSERT_FALSE(s.at("best").is_null()) << s.dump();
        const json& b = s["best"];
        EXPECT_DOUBLE_EQ(b.at("validation_accuracy").get<double>(), exact_val) << s.dump();
        EXPECT_DOUBLE_EQ(b.at("test_accuracy").get<double>(), exact_test) << s.dump();
        if (b.at("configuration") != "1-5:EX") EXPECT_EQ(b.at("evaluated_as"), "1-5:EX") << s.dump();
        EXPECT_EQ(b.at("accelerators").at(0).at("realized"), "1-5:EX") << s.dump();
    }
}

// With several accelerators, each pairs its power with the accuracy of what it runs: "asis"
// runs what is asked, "fixed" runs everything on EX. One search minimizes power on each. Each
// accelerator's Pareto files, its entry of each answer, its table2.csv rows and the report must
// give the accuracies of what it runs, not those the search measured; and a resumed run, which
// reads the accuracies back from the logs, must give the same files.
TEST(Pipeline, EachAcceleratorsParetoSetHasTheAccuracyOfWhatItRuns) {
    TempDir t;
    const fs::path m = write_manifest(t.path, (t.path / "runs").string(), [](json& j) {
        j["accelerators"] = {{{"name", "asis"}, {"component", "faulty.faulty"}, {"params", {{"mode", "nan"}, {"bad", "none"}}}},
                             {{"name", "fixed"}, {"component", "faulty.faulty"}, {"params", {{"mode", "realize"}, {"bad", "EX"}}}}};
        j["search"] = {{{"name", "lagrange"}, {"component", "search.hawx-lagrange"}, {"objective", "asis"}},
                       {{"name", "greedy"}, {"component", "search.greedy"}, {"objective", "fixed"}}};
        j["exploration"]["granularity"] = "filter";
        j["plugins"] = {{"paths", {HAWX_FAULTY_PLUGIN_DIR}}};
    });
    const CmdResult r = run(hawx_run(m));
    ASSERT_EQ(r.code, 0) << r.err << r.out;
    const fs::path run_dir = t.path / "runs" / "pipe";
    const json res = json::parse(slurp(run_dir / "results.json"));
    const double exact_val = res.at("baseline").at("exact").at("validation").get<double>();
    const double exact_test = res.at("baseline").at("exact").at("test").get<double>();
    // evaluated_<accelerator>.csv: accuracy,power,area,configuration,strategy
    const auto accuracies = [&](const std::string& file) {
        std::istringstream in(slurp(run_dir / file));
        std::string row;
        std::getline(in, row);
        std::map<std::string, double> v;
        while (std::getline(in, row)) {
            const auto c = row.find(',', row.find(',', row.find(',') + 1) + 1);
            v[row.substr(c + 1, row.rfind(',') - c - 1)] = std::stod(row.substr(0, row.find(',')));
        }
        return v;
    };
    // greedy's configurations were evaluated as fixed runs them (all EX): as asis runs them they are new
    EXPECT_NE(r.out.find("configurations evaluated as an accelerator other than the search's objective realizes them"),
              std::string::npos) << r.out;
    const std::map<std::string, double> asis = accuracies("evaluated_asis.csv"), fixed = accuracies("evaluated_fixed.csv");
    ASSERT_EQ(asis.size(), fixed.size());
    EXPECT_GT(std::count_if(asis.begin(), asis.end(), [&](const auto& a) { return a.second != exact_val; }), 0)
        << "no approximate configuration was measured: the test shows nothing";
    for (const auto& [key, a] : fixed) EXPECT_DOUBLE_EQ(a, exact_val) << key;
    for (const auto& [key, a] : accuracies("pareto_fixed.csv")) EXPECT_DOUBLE_EQ(a, exact_val) << key;
    std::size_t approximate = 0;
    for (const auto& s : res.at("searches")) {
        ASSERT_FALSE(s.at("best").is_null()) << s.dump();
        const json& b = s["best"];
        const json& acc = b.at("accelerators");
        ASSERT_EQ(acc.size(), 2u);
        const std::size_t own = s.at("objective") == "asis" ? 0 : 1, other = 1 - own;
        EXPECT_FALSE(acc[own].contains("validation_accuracy")) << s.dump();  // the answer's own accuracies
        const std::string key = b.at("configuration");
        if (key == "1-5:EX") continue;
        ++approximate;
        if (other == 1) {
            EXPECT_DOUBLE_EQ(acc[1].at("validation_accuracy").get<double>(), exact_val) << s.dump();
            EXPECT_DOUBLE_EQ(acc[1].at("test_accuracy").get<double>(), exact_test) << s.dump();
        } else {
            EXPECT_DOUBLE_EQ(b.at("validation_accuracy").get<double>(), exact_val) << s.dump();  // as fixed ran it
            ASSERT_TRUE(asis.count(key)) << key;
            EXPECT_DOUBLE_EQ(acc[0].at("validation_accuracy").get<double>(), asis.at(key)) << s.dump();
        }
    }
    EXPECT_GT(approximate, 0u);
    std::istringstream table(slurp(run_dir / "table2.csv"));
    std::string row;
    std::getline(table, row);
    while (std::getline(table, row)) {
        std::vector<std::string> f;
        std::istringstream fields(row);
        for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
        ASSERT_GT(f.size(), 10u) << row;
        if (f[10] == "fixed") EXPECT_DOUBLE_EQ(std::stod(f[6]), exact_val) << row;
    }
    char line[96];
    std::snprintf(line, sizeof line, "realized on fixed as 1-5:EX: val %.2f, test %.2f", exact_val, exact_test);
    const CmdResult report = run(std::string("'") + HAWX_EXE + "' report '" + run_dir.string() + "'");
    ASSERT_EQ(report.code, 0) << report.err;
    EXPECT_NE(report.out.find(line), std::string::npos) << line << "\n" << report.out;

    // Resumed from its logs (as after a kill in the searches): the same accuracies per accelerator.
    const json status = json::parse(slurp(run_dir / "run.json"));
    std::ofstream(run_dir / "run.json") << json{{"experiment", status.at("experiment")}, {"status", "running"}}.dump();
    const CmdResult again = run(hawx_run(m));
    ASSERT_EQ(again.code, 0) << again.err;
    EXPECT_NE(again.out.find("accuracies read back from the search logs"), std::string::npos) << again.out;
    EXPECT_EQ(accuracies("evaluated_asis.csv"), asis);
    EXPECT_EQ(accuracies("evaluated_fixed.csv"), fixed);
}

// Operation granularity (weight positions as units; 61,470 of them on LeNet-5): per-position
// scores are written, hawx-predict answers within its 5 evaluations on every threshold, and
// the dataflow model's regrouping (one block per PE and SIMD lane) is what was evaluated.
TEST(Pipeline, SearchesAtOperationGranularity) {
    TempDir t;
    const fs::path m = write_manifest(t.path, (t.path / "runs").string(), [](json& j) {
        j["search"] = {{{"name", "predict"}, {"component", "search.hawx-predict"}}};
        j["profiling"]["predictor_images"] = 300;
        j["exploration"]["granularity"] = "operation";
    });
    const CmdResult r = run(hawx_run(m));
    ASSERT_EQ(r.code, 0) << r.err << r.out;
    const fs::path run_dir = t.path / "runs" / "pipe";
    const json res = json::parse(slurp(run_dir / "results.json"));
    EXPECT_EQ(res.at("granularity"), "operation");
    // one row per (layer, filter, weight position) for each block (the 5 and the library's exact reference)
    std::istringstream csv(slurp(run_dir / "scores_operation.csv"));
    std::map<std::string, std::size_t> rows;
    std::string row;
    std::getline(csv, row);
    EXPECT_EQ(row, "layer,filter,position,block,mean,sum");
    while (std::getline(csv, row)) {
        std::istringstream f(row);
        std::string field;
        for (int i = 0; i < 4; ++i) std::getline(f, field, ',');
        ++rows[field];
    }
    for (const char* b : {"EX", "T2", "T4", "T6", "BAM16"})
        EXPECT_EQ(rows[b], std::size_t{6 * 25 + 16 * 150 + 120 * 400 + 84 * 120 + 10 * 84}) << b;
    ASSERT_EQ(res.at("searches").size(), 2u);
    for (const auto& s : res.at("searches")) {
        ASSERT_FALSE(s.at("best").is_null()) << s.at("max_drop");
        const json& b = s["best"];
        EXPECT_GE(b.at("validation_accuracy").get<double>(), s.at("threshold").get<double>());
        EXPECT_LE(s.at("evaluations").get<std::size_t>(), 5u);
        const std::string realized = b.at("accelerators").at(0).at("realized");
        EXPECT_EQ(b.value("evaluated_as", b.at("configuration").get<std::string>()), realized);
    }
}

// Manifest key finetune (issue 19): every answer is fine-tuned after its search and reported
// before/after without changing what the searches find (the run's weights are put back);
// with exploration.finetune_in_loop the searches judge by the fine-tuned accuracy, the logs
// record both, and the answer's accuracies are the fine-tuned network's.
TEST(Pipeline, FinetunesAnswersAndJudgesByTheFinetunedAccuracyInTheLoop) {
    TempDir t;
    const auto edit = [](bool finetune, bool in_loop) {
        return [=](json& j) {
            j["search"] = {{{"name", "lagrange"}, {"component", "search.hawx-lagrange"}}};
            j["exploration"]["max_drop"] = {2};
            if (finetune) j["finetune"] = {{"epochs", 1}, {"images", 600}, {"lr", 1e-3}};
            if (in_loop) j["exploration"]["finetune_in_loop"] = true;
        };
    };
    const auto searches = [](const fs::path& dir) { return json::parse(slurp(dir / "results.json")).at("searches"); };
    const fs::path plain = write_manifest(t.path, (t.path / "plain").string(), edit(false, false));
    ASSERT_EQ(run(hawx_run(plain)).code, 0);
    const json p = searches(t.path / "plain" / "pipe").at(0);

    const fs::path after = write_manifest(t.path, (t.path / "after").string(), edit(true, false));
    const CmdResult ra = run(hawx_run(after));
    ASSERT_EQ(ra.code, 0) << ra.err;
    const fs::path adir = t.path / "after" / "pipe";
    const json a = searches(adir).at(0);
    EXPECT_EQ(a.at("evaluations"), p.at("evaluations"));
    EXPECT_EQ(a["best"]["configuration"], p["best"]["configuration"]);
    EXPECT_EQ(a["best"]["validation_accuracy"], p["best"]["validation_accuracy"]);
    EXPECT_EQ(a["best"]["test_accuracy"], p["best"]["test_accuracy"]);
    const json& f = a["best"].at("finetune");
    EXPECT_FALSE(f.at("judged_by_search").get<bool>());
    EXPECT_EQ(f.at("validation_before"), a["best"]["validation_accuracy"]);
    EXPECT_EQ(f.at("test_before"), a["best"]["test_accuracy"]);
    EXPECT_EQ(f.at("epochs").size(), 1u);
    EXPECT_EQ(f.at("validation_after"), f["epochs"][0].at("validation_accuracy"));
    const std::string table = slurp(adir / "table2.csv");
    EXPECT_NE(table.find("finetune_test_after"), std::string::npos);
    EXPECT_EQ(table.find(",-,-,-,-,-,-\n"), std::string::npos) << table;
    EXPECT_NE(ra.out.find("fine-tuned (1 epoch"), std::string::npos) << ra.out;

    const fs::path loop = write_manifest(t.path, (t.path / "loop").string(), edit(true, true));
    const CmdResult rl = run(hawx_run(loop));
    ASSERT_EQ(rl.code, 0) << rl.err;
    const fs::path ldir = t.path / "loop" / "pipe";
    const json l = searches(ldir).at(0);
    ASSERT_FALSE(l.at("best").is_null());
    const json& g = l["best"].at("finetune");
    EXPECT_TRUE(g.at("judged_by_search").get<bool>());
    EXPECT_EQ(l["best"]["validation_accuracy"], g.at("validation_after"));
    EXPECT_EQ(l["best"]["test_accuracy"], g.at("test_after"));
    EXPECT_GE(g.at("validation_after").get<double>(), l.at("threshold").get<double>());
    std::istringstream in(slurp(l.at("log").get<std::string>()));
    std::string line;
    std::getline(in, line);  // header
    std::size_t lines = 0;
    bool best_seen = false;
    while (std::getline(in, line)) {
        const json e = json::parse(line);
        ++lines;
        ASSERT_TRUE(e.contains("accuracy_before_finetune")) << line;
        EXPECT_GT(e.at("finetune_s").get<double>(), 0.0) << line;
        if (e.at("configuration") == l["best"]["configuration"]) {
            best_seen = true;
            EXPECT_EQ(e.at("accuracy"), g.at("validation_after"));
            EXPECT_EQ(e.at("accuracy_before_finetune"), g.at("validation_before"));
        }
    }
    EXPECT_EQ(lines, l.at("evaluations").get<std::size_t>());
    EXPECT_TRUE(best_seen);
    // t_eval of the accounting includes the fine-tune
    const json acc = json::parse(slurp(ldir / "search" / "lagrange_drop2.00.result.json"));
    const json timing = json::parse(slurp(ldir / "results.json")).at("timing");
    EXPECT_GT(acc.at("t_eval_seconds").get<double>(), timing.at("t_eval_without_finetune_s").get<double>());
    EXPECT_NEAR(timing.at("t_eval_s").get<double>(),
                timing.at("t_eval_without_finetune_s").get<double>() + timing.at("t_finetune_s").get<double>(), 1e-9);
}

TEST(Pipeline, ResumesAfterSigkillToIdenticalResults) {
    TempDir t;
    const fs::path ref_m = write_manifest(t.path, (t.path / "ref").string());
    ASSERT_EQ(run(hawx_run(ref_m)).code, 0);
    const json reference = run_summary(t.path / "ref" / "pipe");

    TempDir k;
    const fs::path m = write_manifest(k.path, (k.path / "runs").string());
    const fs::path dir = k.path / "runs" / "pipe";
    // Killed while profiling, after the first evaluation, and in the middle of the searches;
    // each time the same command resumes the same folder.
    EXPECT_TRUE(run_and_kill(m, [&] { return fs::exists(dir / "representatives.json"); }));
    EXPECT_TRUE(run_and_kill(m, [&] { return log_lines(dir) >= 1; }));
    EXPECT_TRUE(run_and_kill(m, [&] { return log_lines(dir) >= 12; }));
    ASSERT_FALSE(fs::exists(dir / "results.json"));
    // a log killed while its header was being written holds nothing to read back
    const fs::path partial = dir / "search" / "killed_drop9.00.jsonl";
    std::ofstream(partial) << "{\"hawx_search_lo";
    const CmdResult r = run(hawx_run(m));
    fs::remove(partial);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("resuming run folder: " + dir.string()), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("accuracies read back from the search logs, not evaluated again"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(k.path / "runs" / "pipe-2"));
    EXPECT_EQ(run_summary(dir), reference);
}

TEST(Pipeline, TwoMpiRanksGiveTheSingleProcessResult) {
    if (std::system("command -v mpirun > /dev/null 2>&1") != 0) GTEST_SKIP() << "mpirun not installed";
    TempDir t;
    const fs::path m = write_manifest(t.path, (t.path / "runs").string());
    ASSERT_EQ(run(hawx_run(m)).code, 0);
    const CmdResult r = run("mpirun --allow-run-as-root --oversubscribe -np 2 " + hawx_run(m, "--new"));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("MPI: 2 ranks evaluate"), std::string::npos) << r.out;
    EXPECT_EQ(run_summary(t.path / "runs" / "pipe"), run_summary(t.path / "runs" / "pipe-2"));
}

TEST(Pipeline, OneAndTwoThreadsGiveIdenticalResults) {
    TempDir t;
    const fs::path m1 = write_manifest(t.path, (t.path / "one").string(), [](json& m) {
        m["exploration"]["threads"] = 1;
    });
    ASSERT_EQ(run(hawx_run(m1)).code, 0);
    const json one = run_summary(t.path / "one" / "pipe");
    const fs::path m2 = write_manifest(t.path, (t.path / "two").string());
    ASSERT_EQ(run(hawx_run(m2)).code, 0);
    json two = run_summary(t.path / "two" / "pipe");
    // The log headers record the experiment hash, which includes the thread setting.
    two.erase("log_headers");
    json one_wo = one;
    one_wo.erase("log_headers");
    EXPECT_EQ(one_wo, two);
}

// Issue 8: a manifest names a TorchScript file as its model and the whole pipeline runs on it.
TEST(Pipeline, RunsOnATorchScriptModel) {
    if (std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0) GTEST_SKIP() << "no torch in python";
    TempDir t;
    const fs::path pt = t.path / "lenet5.script.pt";
    const std::string py = "import sys; sys.path.insert(0, '" HAWX_SOURCE_DIR "/tests/zoo'); import torch; "
                           "from reference_models import LeNet5; torch.manual_seed(0); m = LeNet5(); m.eval(); "
                           "torch.jit.script(m).save('" + pt.string() + "')";
    ASSERT_EQ(run("/usr/bin/python3 -c \"" + py + "\"").code, 0);
    const fs::path m = write_manifest(t.path, (t.path / "runs").string(), [&](json& j) {
        j["model"] = {{"checkpoint", pt.string()}};
        j["dataset"]["validation"] = 500;
        j["search"] = {{{"name", "lagrange"}, {"component", "search.hawx-lagrange"}}};
        j["exploration"]["max_drop"] = {1};
    });
    const CmdResult r = run(hawx_run(m));
    ASSERT_EQ(r.code, 0) << r.err;
    const fs::path dir = t.path / "runs" / "pipe";
    const json res = json::parse(slurp(dir / "results.json"));
    EXPECT_EQ(res.at("model"), "torchscript:lenet5.script.pt");
    ASSERT_EQ(res.at("searches").size(), 1u);
    // Layers named after the PyTorch modules, in forward order.
    const std::string log = slurp(dir / "search" / "lagrange_drop1.00.jsonl");
    const json header = json::parse(log.substr(0, log.find('\n')));
    std::vector<std::string> names;
    for (const auto& l : header.at("layers")) names.push_back(l.at(0).get<std::string>());
    EXPECT_EQ(names, (std::vector<std::string>{"conv1", "conv2", "fc1", "fc2", "fc3"}));
    EXPECT_EQ(res["baseline"]["validation_images"], 500);
}

// A plugin that fails during a search: reported by name (on_error stop), or the configuration
// is skipped as failing (on_error skip).
TEST(Pipeline, FailingAcceleratorStopsWithItsNameOrIsSkipped) {
    for (const char* mode : {"nan", "throw"}) {
        TempDir t;
        const auto edit = [&](const std::string& on_error) {
            return [&, on_error](json& j) {
                j["plugins"] = {{"paths", {HAWX_FAULTY_PLUGIN_DIR}}};
                j["accelerators"] = {{{"name", "broken"}, {"component", "faulty.faulty"}, {"params", {{"mode", mode}}}}};
                j["search"] = {{{"name", "greedy"}, {"component", "search.greedy"}}};
                j["exploration"]["max_drop"] = {1};
                j["exploration"]["on_error"] = on_error;
            };
        };
        const CmdResult stop = run(hawx_run(write_manifest(t.path, (t.path / "stop").string(), edit("stop"))));
        EXPECT_EQ(stop.code, 2) << mode << stop.err;
        EXPECT_NE(stop.err.find("accelerator 'broken' (faulty.faulty)"), std::string::npos) << stop.err;
        EXPECT_NE(stop.err.find("BAM16"), std::string::npos) << stop.err;
        EXPECT_EQ(std::count(stop.err.begin(), stop.err.end(), '\n'), 1) << stop.err;
        EXPECT_FALSE(fs::exists(t.path / "stop" / "pipe" / "results.json"));

        const CmdResult skip = run(hawx_run(write_manifest(t.path, (t.path / "skip").string(), edit("skip"))));
        ASSERT_EQ(skip.code, 0) << mode << skip.err;
        const json res = json::parse(slurp(t.path / "skip" / "pipe" / "results.json"));
        EXPECT_GT(res.at("skipped_configurations").get<int>(), 0);
        const auto& best = res["searches"][0]["best"];
        ASSERT_FALSE(best.is_null());
        EXPECT_EQ(best["configuration"].get<std::string>().find("BAM16"), std::string::npos) << best.dump();
    }
}

// Bad experiment settings found once the model is known: exit 2, one line naming the
// manifest and the problem, and no run folder.
struct BadExperiment {
    std::string name;
    std::function<void(json&, const fs::path&)> edit;
    std::string message;
};

void PrintTo(const BadExperiment& c, std::ostream* os) { *os << c.name; }

class PipelineBadInput : public ::testing::TestWithParam<BadExperiment> {};

TEST_P(PipelineBadInput, OneLineExit2AndNoRunFolder) {
    TempDir t;
    const fs::path m = write_manifest(t.path, (t.path / "runs").string(), [&](json& j) { GetParam().edit(j, t.path); });
    const CmdResult r = run(hawx_run(m));
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.err.find(GetParam().message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(t.path / "runs" / "pipe")) << "a run folder was left behind";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PipelineBadInput,
    ::testing::Values(
        BadExperiment{"MissingCheckpoint",
                      [](json& j, const fs::path& d) { j["model"]["checkpoint"] = (d / "missing.pt").string(); },
                      "missing.pt not found (give model.arch to train it)"},
        BadExperiment{"UnknownArch",
                      [](json& j, const fs::path& d) {
                          j["model"] = {{"arch", "lenet6"}, {"checkpoint", (d / "x.pt").string()}};
                      },
                      "model.arch: unknown model 'lenet6'"},
        BadExperiment{"UnknownDataset", [](json& j, const fs::path&) { j["dataset"]["name"] = "imagenet"; },
                      "imagenet"},
        BadExperiment{"KLargerThanProfilingSet",
                      [](json& j, const fs::path&) { j["profiling"] = {{"representatives", 50}, {"images", 20}}; },
                      "profiling.representatives 50 is larger than the profiling set (20 images)"},
        BadExperiment{"PeNotDividingOutChannels",
                      [](json& j, const fs::path&) { j["accelerators"][0]["params"]["pe"] = "4"; },
                      "out_channels 6 is not divisible by pe 4"},
        BadExperiment{"SimdZero", [](json& j, const fs::path&) { j["accelerators"][0]["params"]["simd"] = "0"; },
                      "simd"},
        BadExperiment{"ValidationBeyondHeldOut", [](json& j, const fs::path&) { j["dataset"]["validation"] = 4000; },
                      "dataset.validation 4000 exceeds the"},
        BadExperiment{"MixedSignedness",
                      [](json& j, const fs::path&) { j["blocks"][2]["params"] = {{"k", 4}, {"signed", false}}; },
                      "differ in signedness"},
        BadExperiment{"ObjectiveNamesNoAccelerator",
                      [](json& j, const fs::path&) { j["search"][0]["objective"] = "tpu"; },
                      "search[0] (lagrange): objective 'tpu' names no accelerator of the manifest (accelerators: dataflow)"},
        BadExperiment{"FinetuneInLoopWithoutSettings",
                      [](json& j, const fs::path&) { j["exploration"]["finetune_in_loop"] = true; },
                      "exploration: 'finetune_in_loop' needs the fine-tuning settings (key 'finetune')"},
        BadExperiment{"FinetuneUnknownGradient",
                      [](json& j, const fs::path&) { j["finetune"] = {{"gradient", "exact"}}; }, "finetune"},
        BadExperiment{"FinetuneZeroEpochs", [](json& j, const fs::path&) { j["finetune"] = {{"epochs", 0}}; },
                      "finetune"}),
    [](const ::testing::TestParamInfo<BadExperiment>& i) { return i.param.name; });

}  // namespace

// Starts `hawx run` in the background with stdout/stderr to files; returns its pid.
pid_t spawn_run(const fs::path& manifest, const fs::path& out, const fs::path& err, bool fresh) {
    std::vector<std::string> args = {HAWX_EXE, "run", manifest.string()};
    if (fresh) args.push_back("--new");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, HAWX_EXE, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

int wait_exit(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Every search log's indices count 0, 1, 2, ... (nothing written twice).
void expect_clean_logs(const fs::path& run_dir) {
    for (const auto& e : fs::directory_iterator(run_dir / "search")) {
        if (e.path().extension() != ".jsonl") continue;
        std::istringstream in(slurp(e.path()));
        std::string line;
        std::getline(in, line);  // header
        std::size_t expect = 0;
        while (std::getline(in, line)) EXPECT_EQ(json::parse(line).at("index").get<std::size_t>(), expect++) << e.path();
    }
}

// Two `hawx run` of one manifest started together (issue 15): the second does not write into
// the first's run folder: it stops with a one-line error naming the folder and the holder's
// pid, or, with --new, runs in a folder of its own.
// A cached checkpoint is used as it is. When the manifest would have trained it otherwise
// (model.arch given, other training settings: vgg11.json and hard_ladder_vgg11.json share one
// checkpoint with 8 and 10 epochs), the run says which settings it was trained with.
TEST(Pipeline, SaysWhenACachedCheckpointWasTrainedOtherwise) {
    const auto go = [](const std::function<void(json&)>& edit) {
        TempDir t;
        const fs::path m = write_manifest(t.path, (t.path / "runs").string(), [&](json& j) {
            j["model"]["arch"] = "lenet5";
            j["search"] = json::array({{{"name", "lagrange"}, {"component", "search.hawx-lagrange"}}});
            edit(j);
        });
        return run(hawx_run(m));
    };
    // the fixture trained it for 2 epochs with seed 5 (tests/pipeline/CMakeLists.txt)
    const CmdResult other = go([](json&) {});
    ASSERT_EQ(other.code, 0) << other.err;
    EXPECT_NE(other.out.find(std::string("note: ") + HAWX_TEST_CHECKPOINT +
                             " was trained with epochs 2 (this manifest: 10), seed 5 (3) (this manifest's training "
                             "settings are not used"),
              std::string::npos)
        << other.out;
    const CmdResult same = go([](json& j) {
        j["seed"] = 5;
        j["training"] = {{"epochs", 2}};
    });
    ASSERT_EQ(same.code, 0) << same.err;
    EXPECT_EQ(same.out.find("was trained with"), std::string::npos) << same.out;
}

TEST(Pipeline, TwoRunsOfOneManifestNeverShareARunFolder) {
    for (bool fresh : {false, true}) {
        TempDir t;
        const fs::path m = write_manifest(t.path, (t.path / "runs").string());
        const pid_t a = spawn_run(m, t.path / "a.out", t.path / "a.err", fresh);
        const pid_t b = spawn_run(m, t.path / "b.out", t.path / "b.err", fresh);
        ASSERT_GT(a, 0);
        ASSERT_GT(b, 0);
        const int ca = wait_exit(a), cb = wait_exit(b);
        const std::string ea = slurp(t.path / "a.err"), eb = slurp(t.path / "b.err");
        if (!fresh) {
            // exactly one ran; the other was refused (folder in use)
            ASSERT_EQ((ca == 0) + (cb == 0), 1) << ea << eb;
            const std::string& refused = ca == 0 ? eb : ea;
            EXPECT_EQ(ca == 0 ? cb : ca, 2);
            EXPECT_NE(refused.find("run folder " + (t.path / "runs" / "pipe").string() + " is in use by process "),
                      std::string::npos) << refused;
            EXPECT_NE(refused.find(std::to_string(ca == 0 ? a : b)), std::string::npos) << refused;
            EXPECT_EQ(std::count(refused.begin(), refused.end(), '\n'), 1) << refused;
            EXPECT_FALSE(fs::exists(t.path / "runs" / "pipe-2"));
        } else {
            EXPECT_EQ(ca, 0) << ea;
            EXPECT_EQ(cb, 0) << eb;
            ASSERT_TRUE(fs::exists(t.path / "runs" / "pipe-2" / "results.json"));
            EXPECT_EQ(run_summary(t.path / "runs" / "pipe"), run_summary(t.path / "runs" / "pipe-2"));
            expect_clean_logs(t.path / "runs" / "pipe-2");
        }
        expect_clean_logs(t.path / "runs" / "pipe");
        EXPECT_EQ(json::parse(slurp(t.path / "runs" / "pipe" / "run.json")).at("status"), "complete");
    }
}

// Without a terminal a long batch of evaluations still reports progress on stderr: a line at
// most every HAWX_PROGRESS_SECONDS (0 here: every evaluation), with the best so far.
TEST(Pipeline, ReportsProgressWithoutATerminal) {
    TempDir t;
    const fs::path m = write_manifest(t.path, (t.path / "runs").string(), [](json& j) {
        j["blocks"] = {{{"name", "EX"}, {"component", "core.exact_mul"}},
                       {{"name", "T2"}, {"component", "core.truncated_mul"}, {"params", {{"k", 2}}}}};
        j["search"] = {{{"name", "exhaustive"}, {"component", "search.exhaustive"}}};
        j["exploration"]["max_drop"] = {1};
    });
    const CmdResult r = run("HAWX_PROGRESS_SECONDS=0 " + hawx_run(m));
    ASSERT_EQ(r.code, 0) << r.err;
    // 2^5 = 32 configurations, 2 of them (all-EX, all-T2) evaluated before the search
    EXPECT_NE(r.err.find("evaluations ["), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("/30"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("best so far"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\r'), std::string::npos) << "a terminal bar was drawn into a file";
}

// Each accelerator is its own objective (issue 15): without an `objective` a search runs once
// per accelerator, sharing the evaluations; an answer never costs more than the exact design
// on the accelerator it was searched for; a search entry may name one objective.
TEST(Pipeline, EveryAcceleratorIsItsOwnObjective) {
    TempDir t;
    const fs::path m = write_manifest(t.path, (t.path / "runs").string(), [](json& j) {
        j["accelerators"].push_back(
            {{"name", "perun"}, {"component", "accelerators.perun"}, {"params", {{"compute_vectors", 2}, {"lids", 2}, {"exact", "EX"}}}});
        j["search"] = {{{"name", "greedy"}, {"component", "search.greedy"}},
                       {{"name", "lagrange"}, {"component", "search.hawx-lagrange"}, {"objective", "perun"}}};
        j["exploration"]["max_drop"] = {3};
    });
    const CmdResult r = run(hawx_run(m));
    ASSERT_EQ(r.code, 0) << r.err;
    const fs::path dir = t.path / "runs" / "pipe";
    const json res = json::parse(slurp(dir / "results.json"));
    ASSERT_EQ(res.at("searches").size(), 3u);  // greedy x 2 objectives + lagrange on perun
    std::vector<std::string> seen;
    for (const auto& s : res["searches"]) {
        const std::string objective = s.at("objective");
        seen.push_back(s.at("strategy").get<std::string>() + "/" + objective);
        EXPECT_TRUE(fs::exists(dir / "search" / (s.at("strategy").get<std::string>() + "_drop3.00_" + objective + ".jsonl")));
        for (const auto& a : s.at("best").at("accelerators"))
            if (a.at("accelerator") == objective) EXPECT_LE(a.at("power_norm").get<double>(), 1.0 + 1e-12) << s.dump();
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"greedy/dataflow", "greedy/perun", "lagrange/perun"}));
    const std::string table = slurp(dir / "table2.csv");
    EXPECT_EQ(table.rfind("strategy,objective,", 0), 0u) << table;
    EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 1 + 3 * 2);
}
