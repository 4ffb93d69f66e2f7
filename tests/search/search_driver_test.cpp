// The search driver: cache and dedupe counts, budget, the JSON-lines log, resumption after a
// kill (the evaluator throwing) or a log truncated mid-line, refusal of a foreign log.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <hawx/framework/config_string.hpp>
#include <hawx/framework/plugin_manager.hpp>
#include <hawx/framework/search_driver.hpp>
#include <hawx/sdk/error.hpp>

#include "synthetic.hpp"

using namespace hawx;
namespace fs = std::filesystem;

namespace {

// Proposes fixed batches and records what it is told.
class Scripted final : public SearchStrategy {
public:
    explicit Scripted(std::vector<std::vector<Configuration>> batches) : batches_(std::move(batches)) {}
    void start(const SearchProblem&) override { next_ = 0, told.clear(); }
    std::vector<Configuration> ask() override { return next_ < batches_.size() ? batches_[next_++] : std::vector<Configuration>{}; }
    void tell(const Configuration& c, const Outcome& o) override { told.emplace_back(c, o); }
    std::optional<Configuration> best() const override {
        if (told.empty()) return std::nullopt;
        return told.back().first;
    }
    std::vector<std::pair<Configuration, Outcome>> told;

private:
    std::vector<std::vector<Configuration>> batches_;
    std::size_t next_ = 0;
};

Configuration uniform(const SearchProblem& p, std::vector<int> per_layer) {
    Configuration c;
    c.granularity = p.granularity;
    for (std::size_t l = 0; l < p.layers.size(); ++l)
        c.blocks.emplace_back(static_cast<std::size_t>(unit_count(p.layers[l], p.granularity)), per_layer[l]);
    return c;
}

fs::path temp_dir() { return fs::temp_directory_path() / ("hawx_search_test_" + std::to_string(::getpid())); }

// The logs the tests write go with the process (ctest runs every test in a process of its own).
class RemoveTempDir : public ::testing::Environment {
public:
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(temp_dir(), ec);
    }
};
::testing::Environment* const kRemoveTempDir = ::testing::AddGlobalTestEnvironment(new RemoveTempDir);

std::string temp_path(const std::string& name) {
    const fs::path dir = temp_dir();
    fs::create_directories(dir);
    const fs::path p = dir / name;
    fs::remove(p);
    return p.string();
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The log without the fields that depend on timing.
std::vector<nlohmann::json> timeless_lines(const std::string& path) {
    std::vector<nlohmann::json> out;
    std::istringstream is(slurp(path));
    std::string line;
    while (std::getline(is, line)) {
        auto j = nlohmann::json::parse(line);
        j.erase("seconds");
        j.erase("timestamp");
        out.push_back(j);
    }
    return out;
}

std::shared_ptr<SearchStrategy> plugin_strategy(PluginManager& pm, const std::string& name, const nlohmann::json& params) {
    const auto& e = pm.find(name, Kind::Search);
    return pm.create<SearchStrategy>(e, pm.resolve_params(e, params, "test", "."), "test");
}

struct DriverTest : ::testing::Test {
    synthetic::Synthetic s = synthetic::make(Granularity::Layer, 4, 1.0);
    SearchProblem& p = s.problem;
};

TEST_F(DriverTest, EvaluatesEachDistinctConfigurationOnceAndTellsEveryAskInOrder) {
    const auto A = uniform(p, {0, 0, 0, 0, 0}), Bc = uniform(p, {1, 0, 0, 0, 0}), C = uniform(p, {1, 1, 1, 1, 1});
    Scripted st({{A, Bc, A}, {Bc, C}});
    std::vector<std::size_t> batch_sizes;
    const auto eval = [&](const std::vector<Configuration>& b) {
        batch_sizes.push_back(b.size());
        return s.evaluator()(b);
    };
    const SearchResult r = run_search(st, p, eval);
    EXPECT_EQ(r.asked, 5u);
    EXPECT_EQ(r.full_evaluations, 3u);
    EXPECT_EQ(r.cache_hits, 2u);
    EXPECT_EQ(batch_sizes, (std::vector<std::size_t>{2, 1}));
    ASSERT_EQ(st.told.size(), 5u);
    const std::vector<Configuration> order = {A, Bc, A, Bc, C};
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(st.told[i].first.blocks, order[i].blocks);
        EXPECT_EQ(st.told[i].second.accuracy, s.accuracy(order[i]));
        // costs the evaluator left empty come from the Algorithm-1 sum
        EXPECT_DOUBLE_EQ(*st.told[i].second.power_mw, *configuration_cost(p, order[i]).power_mw);
    }
    ASSERT_EQ(r.evaluations.size(), 3u);
    EXPECT_EQ(r.evaluations[2].key, format_configuration(C, p.block_names));
    EXPECT_EQ(r.best_string, format_configuration(C, p.block_names));
}

// Answers a fixed configuration without asking for any evaluation.
class AnswersWithoutAsking final : public SearchStrategy {
public:
    explicit AnswersWithoutAsking(Configuration c) : c_(std::move(c)) {}
    void start(const SearchProblem&) override {}
    std::vector<Configuration> ask() override { return {}; }
    void tell(const Configuration&, const Outcome&) override {}
    std::optional<Configuration> best() const override { return c_; }

private:
    Configuration c_;
};

TEST_F(DriverTest, AnUnevaluatedAllExactAnswerCarriesTheBaseline) {
    AnswersWithoutAsking exact(uniform(p, {0, 0, 0, 0, 0}));
    const SearchResult r = run_search(exact, p, s.evaluator());
    EXPECT_EQ(r.full_evaluations, 0u);
    ASSERT_TRUE(r.best_outcome);
    EXPECT_EQ(r.best_outcome->accuracy, p.baseline_accuracy);
    EXPECT_DOUBLE_EQ(*r.best_outcome->power_mw, *configuration_cost(p, uniform(p, {0, 0, 0, 0, 0})).power_mw);
    // any other unevaluated answer has no outcome to report
    AnswersWithoutAsking other(uniform(p, {1, 0, 0, 0, 0}));
    EXPECT_FALSE(run_search(other, p, s.evaluator()).best_outcome);
}

TEST_F(DriverTest, BudgetStopsAfterTheFirstNewConfigurationsOfABatch) {
    const auto A = uniform(p, {0, 0, 0, 0, 0}), Bc = uniform(p, {1, 0, 0, 0, 0}), C = uniform(p, {1, 1, 1, 1, 1}),
               D = uniform(p, {2, 1, 1, 1, 1});
    Scripted st({{A, Bc, A}, {Bc, C, D}, {A}});
    p.max_evaluations = 3;
    const SearchResult r = run_search(st, p, s.evaluator());
    EXPECT_EQ(r.full_evaluations, 3u);
    EXPECT_TRUE(r.budget_exhausted);
    ASSERT_EQ(st.told.size(), 5u);  // A, B, A, B, C; D is not evaluated and the search stops
    EXPECT_EQ(st.told[4].first.blocks, C.blocks);
}

TEST_F(DriverTest, RejectsMalformedProposalsAndEvaluators) {
    Configuration wrong = uniform(p, {0, 0, 0, 0, 0});
    wrong.blocks[2] = {0, 1};
    Scripted st({{wrong}});
    p.strategy_name = "x.scripted";
    try {
        run_search(st, p, s.evaluator());
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "search strategy x.scripted proposed 2 units for layer 3, expected 1");
    }
    Scripted ok({{uniform(p, {0, 0, 0, 0, 0})}});
    const auto short_eval = [](const std::vector<Configuration>&) { return std::vector<Outcome>{}; };
    EXPECT_THROW(run_search(ok, p, short_eval), Error);
}

TEST_F(DriverTest, LogRoundTripsOutcomesExactly) {
    const std::string log = temp_path("roundtrip.jsonl");
    PluginManager pm(plugin_search_path({}));
    auto st = plugin_strategy(pm, "search.random", {{"evaluations", 12}, {"batch", 5}});
    SearchLogOptions o{log, "search.random", {{"evaluations", 12}}, {}, true};
    const SearchResult r = run_search(*st, p, s.evaluator(), o);
    const SearchLog back = read_search_log(log);
    EXPECT_EQ(back.header.at("problem_hash").get<std::string>(), problem_hash(p, o));
    EXPECT_FALSE(back.truncated_tail);
    ASSERT_EQ(back.evaluations.size(), r.evaluations.size());
    for (std::size_t i = 0; i < r.evaluations.size(); ++i) {
        EXPECT_EQ(back.evaluations[i].index, i);
        EXPECT_EQ(back.evaluations[i].configuration, r.evaluations[i].key);
        EXPECT_EQ(back.evaluations[i].outcome.accuracy, r.evaluations[i].outcome.accuracy);  // bit-exact
        EXPECT_EQ(*back.evaluations[i].outcome.power_mw, *r.evaluations[i].outcome.power_mw);
        const auto c = parse_configuration(back.evaluations[i].configuration, p.block_names, p.layers, p.granularity);
        EXPECT_EQ(back.evaluations[i].outcome.accuracy, s.accuracy(c));
    }
}

// Two processes appending to one log leave indices that repeat (issue 15); lost lines leave
// gaps. Either way resuming from the log would be wrong: it is refused, naming file and line.
TEST_F(DriverTest, RefusesALogWhoseIndicesRepeatOrSkip) {
    const std::string log = temp_path("indices.jsonl");
    Scripted st({{uniform(p, {0, 0, 0, 0, 0}), uniform(p, {1, 0, 0, 0, 0}), uniform(p, {1, 1, 0, 0, 0})}});
    SearchLogOptions o{log, "x.scripted", {}, {}, false};
    run_search(st, p, s.evaluator(), o);
    const std::string text = slurp(log);
    ASSERT_NO_THROW(read_search_log(log));
    std::vector<std::string> lines;
    std::istringstream is(text);
    for (std::string l; std::getline(is, l);) lines.push_back(l);
    ASSERT_EQ(lines.size(), 4u);  // header + 3
    const auto write = [&](const std::vector<std::string>& ls) {
        std::ofstream out(log, std::ios::trunc);
        for (const auto& l : ls) out << l << "\n";
    };
    write({lines[0], lines[1], lines[2], lines[2], lines[3]});  // index 1 twice
    try {
        read_search_log(log);
        ADD_FAILURE() << "a repeated index was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(log + ": line 4 has index 1, expected 2 (an index repeats"), std::string::npos)
            << e.what();
    }
    write({lines[0], lines[1], lines[3]});  // index 1 missing
    try {
        read_search_log(log);
        ADD_FAILURE() << "a gap in the indices was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("line 3 has index 2, expected 1 (indices skip"), std::string::npos) << e.what();
    }
    // and a resumed search stops on it before evaluating anything
    Scripted again({{uniform(p, {0, 0, 0, 0, 0})}});
    EXPECT_THROW(run_search(again, p, s.evaluator(), o), Error);
}

// A configuration the core did not evaluate reaches the strategy with its status, no made-up
// accuracy or cost, and the log keeps the status for a resumed run.
TEST_F(DriverTest, StatusesReachTheStrategyAndTheLog) {
    const std::string log = temp_path("status.jsonl");
    const auto A = uniform(p, {0, 0, 0, 0, 0}), Bc = uniform(p, {1, 0, 0, 0, 0}), C = uniform(p, {1, 1, 0, 0, 0});
    const BatchEvaluator eval = [&](const std::vector<Configuration>& batch) {
        std::vector<Outcome> out = s.evaluator()(batch);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (batch[i].blocks == Bc.blocks) out[i] = Outcome{std::nan(""), {}, {}, {}, EvalStatus::Skipped};
            if (batch[i].blocks == C.blocks) out[i].status = EvalStatus::Failed, out[i].accuracy = std::nan("");
        }
        return out;
    };
    Scripted st({{A, Bc, C}});
    SearchLogOptions o{log, "x.scripted", {}, {}, false};
    run_search(st, p, eval, o);
    ASSERT_EQ(st.told.size(), 3u);
    EXPECT_EQ(st.told[0].second.status, EvalStatus::Evaluated);
    EXPECT_EQ(st.told[1].second.status, EvalStatus::Skipped);
    EXPECT_FALSE(st.told[1].second.power_mw.has_value());  // not filled from estimates
    EXPECT_EQ(st.told[2].second.status, EvalStatus::Failed);
    EXPECT_TRUE(st.told[2].second.power_mw.has_value());
    EXPECT_FALSE(meets_threshold(st.told[2].second, -1e9));
    const SearchLog back = read_search_log(log);
    ASSERT_EQ(back.evaluations.size(), 3u);
    EXPECT_EQ(back.evaluations[0].outcome.status, EvalStatus::Evaluated);
    EXPECT_EQ(back.evaluations[1].outcome.status, EvalStatus::Skipped);
    EXPECT_EQ(back.evaluations[2].outcome.status, EvalStatus::Failed);
    EXPECT_EQ(timeless_lines(log)[1].count("status"), 0u);  // evaluated lines stay as before
    EXPECT_EQ(timeless_lines(log)[2].at("status"), "skipped");
}

TEST_F(DriverTest, RefusesALogFromAnotherProblem) {
    const std::string log = temp_path("foreign.jsonl");
    Scripted st({{uniform(p, {0, 0, 0, 0, 0})}});
    SearchLogOptions o{log, "x.scripted", {{"k", 1}}, {}, false};
    run_search(st, p, s.evaluator(), o);
    SearchProblem other = p;
    other.accuracy_threshold = p.accuracy_threshold - 0.5;
    try {
        run_search(st, other, s.evaluator(), o);
        FAIL();
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find(log + " is from another problem: threshold is 89"), std::string::npos) << m;
        EXPECT_EQ(m.find('\n'), std::string::npos);
    }
    SearchLogOptions o2 = o;
    o2.strategy_params = {{"k", 2}};
    try {
        run_search(st, p, s.evaluator(), o2);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("params is {\"k\":1} there, {\"k\":2} here"), std::string::npos) << e.what();
    }
    SearchProblem other_scores = p;
    other_scores.scores[1][0][2] += 1e-9;
    EXPECT_THROW(run_search(st, other_scores, s.evaluator(), o), Error);
}

struct Killed : std::runtime_error {
    Killed() : std::runtime_error("killed") {}
};

// Runs nsga2 uninterrupted, then killed after `kill_after` evaluations and re-run on the
// same log; the resumed run must end exactly like the uninterrupted one.
void kill_and_resume(const synthetic::Synthetic& s, std::uint64_t kill_after, bool cut_mid_line,
                     const std::string& name = "search.nsga2",
                     const nlohmann::json& params = {{"population", 8}, {"generations", 5}}) {
    SCOPED_TRACE(name + " killed after " + std::to_string(kill_after));
    PluginManager pm(plugin_search_path({}));
    SearchLogOptions o{temp_path("full.jsonl"), name, params, {{"model", "synthetic"}}, false};
    const SearchResult full = run_search(*plugin_strategy(pm, name, params), s.problem, s.evaluator(), o);
    ASSERT_GT(full.full_evaluations, kill_after);

    SearchLogOptions o2 = o;
    o2.path = temp_path("killed.jsonl");
    std::uint64_t done = 0;
    if (cut_mid_line) {
        // a kill in the middle of writing line kill_after + 2 (header is line 1)
        const std::string text = slurp(o.path);
        std::size_t pos = 0;
        for (std::uint64_t i = 0; i < kill_after + 1; ++i) pos = text.find('\n', pos) + 1;
        std::ofstream(o2.path, std::ios::binary) << text.substr(0, pos + (text.find('\n', pos) - pos) / 2);
        EXPECT_TRUE(read_search_log(o2.path).truncated_tail);
        EXPECT_EQ(read_search_log(o2.path).evaluations.size(), kill_after);
    } else {
        const auto dying = [&](const std::vector<Configuration>& b) {
            if (done + b.size() > kill_after) throw Killed();
            done += b.size();
            return s.evaluator()(b);
        };
        EXPECT_THROW(run_search(*plugin_strategy(pm, name, params), s.problem, dying, o2), Killed);
        kill_after = done;  // whole batches are logged
        EXPECT_EQ(read_search_log(o2.path).evaluations.size(), kill_after);
    }
    std::uint64_t evaluated = 0;
    const SearchResult resumed =
        run_search(*plugin_strategy(pm, name, params), s.problem, s.evaluator(&evaluated), o2);
    EXPECT_EQ(resumed.from_log, kill_after);
    EXPECT_EQ(evaluated, full.full_evaluations - kill_after);  // nothing logged is evaluated again
    EXPECT_EQ(resumed.full_evaluations, full.full_evaluations);
    EXPECT_EQ(resumed.cache_hits, full.cache_hits);
    EXPECT_EQ(resumed.best_string, full.best_string);
    ASSERT_EQ(resumed.evaluations.size(), full.evaluations.size());
    for (std::size_t i = 0; i < full.evaluations.size(); ++i) {
        EXPECT_EQ(resumed.evaluations[i].key, full.evaluations[i].key);
        EXPECT_EQ(resumed.evaluations[i].outcome.accuracy, full.evaluations[i].outcome.accuracy);
    }
    EXPECT_EQ(timeless_lines(o2.path), timeless_lines(o.path));
}

TEST(DriverResume, KilledSearchResumesToTheUninterruptedResult) {
    const auto s = synthetic::make(Granularity::Layer, 8, 1.0);
    kill_and_resume(s, 13, false);
    kill_and_resume(s, 20, false);
}

TEST(DriverResume, EveryStrategyResumesToTheSameResult) {
    const auto s = synthetic::make(Granularity::Layer, 8, 1.0);
    kill_and_resume(s, 4, false, "search.hawx", {});
    kill_and_resume(s, 3, false, "search.hawx-lagrange", {});
    kill_and_resume(s, 9, false, "search.greedy", {});
    kill_and_resume(s, 21, false, "search.random", {{"evaluations", 40}, {"batch", 6}});
    kill_and_resume(s, 30, false, "search.rl", {{"episodes", 50}, {"batch", 4}});
    kill_and_resume(s, 5000, false, "search.exhaustive", {{"batch", 1000}});
    kill_and_resume(s, 3, true, "search.hawx-lagrange", {});
}

TEST(DriverResume, LogCutMidLineIsTrimmedAndResumed) {
    const auto s = synthetic::make(Granularity::Layer, 8, 1.0);
    kill_and_resume(s, 5, true);
    kill_and_resume(s, 0, true);
}

TEST(DriverResume, APartialHeaderStartsOver) {
    auto s = synthetic::make(Granularity::Layer, 4, 1.0);
    const std::string log = temp_path("partial_header.jsonl");
    std::ofstream(log) << "{\"hawx_search_lo";
    Scripted st({{uniform(s.problem, {0, 0, 0, 0, 0})}});
    const SearchResult r = run_search(st, s.problem, s.evaluator(), SearchLogOptions{log, "x", {}, {}, false});
    EXPECT_EQ(r.from_log, 0u);
    EXPECT_EQ(read_search_log(log).evaluations.size(), 1u);
}

TEST(DriverAccounting, ExhaustiveCountsPerGranularity) {
    auto s = synthetic::make(Granularity::Layer, 8, 1.0);
    s.problem.eval_seconds = 2.0;
    const auto j = exhaustive_accounting(s.problem, 10.0);
    EXPECT_NEAR(j.at("layer").at("log10_n_exh").get<double>(), 5 * std::log10(8.0), 1e-12);
    EXPECT_NEAR(j.at("filter").at("log10_n_exh").get<double>(), (6 + 16 + 120 + 84 + 10) * std::log10(8.0), 1e-9);
    EXPECT_NEAR(j.at("layer").at("log10_t_exh_seconds").get<double>(), 5 * std::log10(8.0) + std::log10(2.0), 1e-12);
    EXPECT_NEAR(j.at("layer").at("log10_speedup_vs_wall").get<double>(), 5 * std::log10(8.0) + std::log10(0.2), 1e-12);
}

}  // namespace
