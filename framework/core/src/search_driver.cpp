#include "hawx/framework/search_driver.hpp"

#include "hawx/framework/text.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <hawx/sdk/error.hpp>

#include "hawx/framework/config_string.hpp"

namespace hawx {

namespace {

constexpr int kLogFormat = 1;

std::string now_utc() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
    return out;
}

nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

std::optional<double> optional_from(const nlohmann::json& j) {
    if (j.is_null()) return std::nullopt;
    return j.get<double>();
}

// Scores are hashed rather than stored: they are large, and only equality matters.
std::string scores_digest(const std::vector<std::vector<std::vector<double>>>& s) {
    std::uint64_t h = fnv1a("scores");
    char buf[32];
    for (const auto& layer : s) {
        h = fnv1a("|L", h);
        for (const auto& unit : layer) {
            h = fnv1a("|u", h);
            for (double v : unit) {
                std::snprintf(buf, sizeof buf, "%.17g,", v);
                h = fnv1a(buf, h);
            }
        }
    }
    return hex16(h);
}

nlohmann::json identity(const SearchProblem& p, const SearchLogOptions& o) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : p.layers)
        layers.push_back({l.name, l.type, l.out_channels, l.fan_in, l.output_positions, l.groups});
    nlohmann::json costs = nlohmann::json::array();
    for (const auto& c : p.block_costs) costs.push_back({c.power_mw, c.area_um2});
    return {{"strategy", o.strategy_name},
            {"params", o.strategy_params},
            {"granularity", to_string(p.granularity)},
            {"threshold", p.accuracy_threshold},
            {"baseline", p.baseline_accuracy},
            {"seed", p.seed},
            {"blocks", p.block_names},
            {"block_costs", costs},
            {"layers", layers},
            {"scores", scores_digest(p.scores)},
            {"score_sums", scores_digest(p.score_sums)},
            {"exact_block", p.exact_block},
            {"context", o.context}};
}

std::string short_dump(const nlohmann::json& j) {
    std::string s = j.dump();
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return s;
}

void append_all(const std::string& path, const std::string& text, bool sync) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw Error("search log " + path + ": cannot open for appending (" + std::strerror(errno) + ")");
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const std::string why = std::strerror(errno);
            ::close(fd);
            throw Error("search log " + path + ": write failed (" + why + ")");
        }
        done += static_cast<std::size_t>(n);
    }
    if (sync && ::fsync(fd) != 0) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        throw Error("search log " + path + ": fsync failed (" + why + ")");
    }
    ::close(fd);
}

std::string log_line(const EvaluationRecord& r, const nlohmann::json& extra) {
    nlohmann::json j = {{"index", r.index},
                        {"configuration", r.key},
                        {"accuracy", std::isnan(r.outcome.accuracy) ? nlohmann::json(nullptr) : nlohmann::json(r.outcome.accuracy)},
                        {"power", optional_json(r.outcome.power_mw)},
                        {"area", optional_json(r.outcome.area_um2)},
                        {"latency", optional_json(r.outcome.latency_cycles)},
                        {"seconds", r.seconds},
                        {"timestamp", r.timestamp}};
    // only outcomes that were not evaluated carry a status (older logs have none)
    if (r.outcome.status != EvalStatus::Evaluated) j["status"] = to_string(r.outcome.status);
    if (extra.is_object())
        for (const auto& [k, v] : extra.items())
            if (!j.contains(k)) j[k] = v;
    return j.dump() + "\n";
}

void validate(const Configuration& c, const SearchProblem& p) {
    const std::string who = "search strategy " + (p.strategy_name.empty() ? std::string("?") : p.strategy_name);
    if (c.granularity != p.granularity)
        throw Error(who + " proposed a configuration at " + to_string(c.granularity) + " granularity; the problem is at " +
                    to_string(p.granularity));
    if (c.blocks.size() != p.layers.size())
        throw Error(who + " proposed a configuration of " + std::to_string(c.blocks.size()) + " layers; the network has " +
                    std::to_string(p.layers.size()));
    for (std::size_t l = 0; l < c.blocks.size(); ++l) {
        const auto want = static_cast<std::size_t>(unit_count(p.layers[l], p.granularity));
        if (c.blocks[l].size() != want)
            throw Error(who + " proposed " + std::to_string(c.blocks[l].size()) + " units for layer " + std::to_string(l + 1) +
                        ", expected " + std::to_string(want));
        for (int b : c.blocks[l])
            if (b < 0 || static_cast<std::size_t>(b) >= p.block_names.size())
                throw Error(who + " proposed block index " + std::to_string(b) + " for layer " + std::to_string(l + 1) +
                            " (blocks: " + std::to_string(p.block_names.size()) + ")");
    }
}

void fill_costs(Outcome& o, const SearchProblem& p, const Configuration& c) {
    if (o.status == EvalStatus::Skipped || (o.power_mw && o.area_um2 && o.latency_cycles)) return;
    const Outcome est = p.estimate_cost ? p.estimate_cost(c) : configuration_cost(p, c);
    if (!o.power_mw) o.power_mw = est.power_mw;
    if (!o.area_um2) o.area_um2 = est.area_um2;
    if (!o.latency_cycles) o.latency_cycles = est.latency_cycles;
}

}  // namespace

std::string configuration_key(const Configuration& c, const std::vector<std::string>& block_names) {
    return format_configuration(c, block_names);
}

std::string problem_hash(const SearchProblem& problem, const SearchLogOptions& options) {
    return hex16(fnv1a(identity(problem, options).dump()));
}

SearchLog read_search_log(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("search log " + path + ": cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    SearchLog log;
    std::size_t pos = 0, line_no = 0;
    while (pos < text.size()) {
        const std::size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) {  // a kill mid-write: everything before is trusted
            log.truncated_tail = true;
            break;
        }
        const std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++line_no;
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const std::exception&) {
            throw Error("search log " + path + ": line " + std::to_string(line_no) + " is not valid JSON");
        }
        try {
            if (line_no == 1) {
                if (!j.is_object() || !j.contains("hawx_search_log"))
                    throw Error("search log " + path + ": line 1 is not a search log header");
                if (j.at("hawx_search_log").get<int>() != kLogFormat)
                    throw Error("search log " + path + ": format " + j.at("hawx_search_log").dump() + ", supported " +
                                std::to_string(kLogFormat));
                log.header = j;
                continue;
            }
            LoggedEvaluation e;
            e.index = j.at("index").get<std::uint64_t>();
            e.configuration = j.at("configuration").get<std::string>();
            e.outcome.accuracy = j.at("accuracy").is_null() ? std::numeric_limits<double>::quiet_NaN()
                                                            : j.at("accuracy").get<double>();
            e.outcome.power_mw = optional_from(j.at("power"));
            e.outcome.area_um2 = optional_from(j.at("area"));
            e.outcome.latency_cycles = optional_from(j.at("latency"));
            e.seconds = j.at("seconds").get<double>();
            e.timestamp = j.at("timestamp").get<std::string>();
            if (j.contains("status")) {
                const std::string st = j.at("status").get<std::string>();
                if (st == "failed") e.outcome.status = EvalStatus::Failed;
                else if (st == "skipped") e.outcome.status = EvalStatus::Skipped;
                else if (st != "evaluated")
                    throw Error("search log " + path + ": line " + std::to_string(line_no) + " has an unknown status '" +
                                st + "' (evaluated, failed, skipped)");
            }
            // Indices count the search's evaluations: a repeated or skipped one means two
            // processes wrote the log, or lines were lost; resuming from it would be wrong.
            if (e.index != log.evaluations.size())
                throw Error("search log " + path + ": line " + std::to_string(line_no) + " has index " +
                            std::to_string(e.index) + ", expected " + std::to_string(log.evaluations.size()) +
                            (e.index < log.evaluations.size() ? " (an index repeats: was the log written by two runs?)"
                                                              : " (indices skip: lines are missing)"));
            log.evaluations.push_back(std::move(e));
        } catch (const Error&) {
            throw;
        } catch (const std::exception& ex) {
            throw Error("search log " + path + ": line " + std::to_string(line_no) + " is malformed (" + ex.what() + ")");
        }
    }
    return log;
}

namespace {

bool is_all_exact(const SearchProblem& p, const Configuration& c) {
    if (p.exact_block < 0) return false;
    for (const auto& layer : c.blocks)
        for (int b : layer)
            if (b != p.exact_block) return false;
    return true;
}

// Opens (or starts) the log and returns the outcomes it already holds, by key.
std::unordered_map<std::string, LoggedEvaluation> open_log(const SearchProblem& problem, const SearchLogOptions& o) {
    std::unordered_map<std::string, LoggedEvaluation> logged;
    const std::string& path = o.path;
    struct stat st {};
    const bool exists = ::stat(path.c_str(), &st) == 0;
    const nlohmann::json id = identity(problem, o);
    const std::string hash = hex16(fnv1a(id.dump()));
    if (exists && st.st_size > 0) {
        SearchLog log = read_search_log(path);
        if (!log.header.is_null()) {
            if (log.header.value("problem_hash", std::string()) != hash) {
                for (const char* field : {"strategy", "params", "granularity", "threshold", "baseline", "seed", "blocks",
                                          "block_costs", "layers", "scores", "score_sums", "exact_block", "context"}) {
                    const nlohmann::json& mine = id.at(field);
                    const nlohmann::json theirs = log.header.value(field, nlohmann::json());
                    if (mine != theirs)
                        throw Error("search log " + path + " is from another problem: " + field + " is " +
                                    short_dump(theirs) + " there, " + short_dump(mine) + " here");
                }
                throw Error("search log " + path + " is from another problem (problem hash " +
                            log.header.value("problem_hash", std::string("?")) + ", here " + hash + ")");
            }
            if (log.truncated_tail) {
                // keep exactly the complete lines: header + evaluations
                std::ifstream in(path, std::ios::binary);
                std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
                const auto last_nl = text.rfind('\n');
                if (::truncate(path.c_str(), static_cast<off_t>(last_nl + 1)) != 0)
                    throw Error("search log " + path + ": cannot cut the truncated last line (" + std::strerror(errno) + ")");
            }
            for (auto& e : log.evaluations) logged.emplace(e.configuration, std::move(e));
            return logged;
        }
        // only a partial header: nothing was evaluated yet, start over
        if (::truncate(path.c_str(), 0) != 0)
            throw Error("search log " + path + ": cannot be reset (" + std::strerror(errno) + ")");
    }
    nlohmann::json header = id;  // the whole identity, so a mismatch can be named field by field
    header["hawx_search_log"] = kLogFormat;
    header["problem_hash"] = hash;
    append_all(path, header.dump() + "\n", o.fsync);
    return logged;
}

}  // namespace

SearchResult run_search(SearchStrategy& strategy, const SearchProblem& problem, const BatchEvaluator& evaluate,
                        const SearchLogOptions& options) {
    const auto t0 = std::chrono::steady_clock::now();
    SearchResult result;
    // start first: a strategy refusing the problem (e.g. exhaustive on a huge space) leaves no log
    strategy.start(problem);
    std::unordered_map<std::string, LoggedEvaluation> logged;
    if (!options.path.empty()) logged = open_log(problem, options);
    std::unordered_map<std::string, Outcome> cache;
    const std::uint64_t budget = problem.max_evaluations;

    for (;;) {
        const std::vector<Configuration> batch = strategy.ask();
        if (batch.empty()) break;
        result.asked += batch.size();
        std::vector<std::string> keys(batch.size());
        std::vector<std::size_t> fresh;         // positions in batch to evaluate now
        std::vector<std::size_t> fresh_records;  // their records in result.evaluations
        std::vector<bool> answered(batch.size(), false);
        std::unordered_set<std::string> in_batch;
        bool stop = false;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            validate(batch[i], problem);
            keys[i] = configuration_key(batch[i], problem.block_names);
            if (cache.count(keys[i]) || in_batch.count(keys[i])) {
                ++result.cache_hits;
                answered[i] = true;
                continue;
            }
            if (budget != 0 && result.full_evaluations >= budget) {
                stop = true;
                result.budget_exhausted = true;
                continue;
            }
            ++result.full_evaluations;
            answered[i] = true;
            in_batch.insert(keys[i]);
            auto lg = logged.find(keys[i]);
            if (lg != logged.end()) {
                EvaluationRecord r;
                r.index = result.evaluations.size();
                r.configuration = batch[i];
                r.key = keys[i];
                r.outcome = lg->second.outcome;
                r.seconds = lg->second.seconds;
                r.timestamp = lg->second.timestamp;
                r.from_log = true;
                cache[keys[i]] = r.outcome;
                ++result.from_log;
                result.evaluations.push_back(std::move(r));
                continue;
            }
            fresh.push_back(i);
            fresh_records.push_back(result.evaluations.size());
            EvaluationRecord r;
            r.index = result.evaluations.size();
            r.configuration = batch[i];
            r.key = keys[i];
            result.evaluations.push_back(std::move(r));
        }
        if (!fresh.empty()) {
            std::vector<Configuration> todo;
            todo.reserve(fresh.size());
            for (std::size_t i : fresh) todo.push_back(batch[i]);
            const auto e0 = std::chrono::steady_clock::now();
            std::vector<Outcome> outcomes = evaluate(todo);
            const double secs = seconds_since(e0);
            if (outcomes.size() != todo.size())
                throw Error("search evaluator returned " + std::to_string(outcomes.size()) + " outcomes for " +
                            std::to_string(todo.size()) + " configurations");
            const std::string stamp = now_utc();
            std::string lines;
            for (std::size_t k = 0; k < fresh_records.size(); ++k) {
                EvaluationRecord& r = result.evaluations[fresh_records[k]];
                fill_costs(outcomes[k], problem, r.configuration);
                r.outcome = outcomes[k];
                r.seconds = secs / static_cast<double>(todo.size());
                r.timestamp = stamp;
                cache[r.key] = r.outcome;
                lines += log_line(r, options.annotate ? options.annotate(r.key) : nlohmann::json());
            }
            if (!options.path.empty()) append_all(options.path, lines, options.fsync);
        }
        for (std::size_t i = 0; i < batch.size(); ++i)
            if (answered[i]) strategy.tell(batch[i], cache.at(keys[i]));
        if (stop) break;
    }
    result.best = strategy.best();
    if (result.best) {
        result.best_string = configuration_key(*result.best, problem.block_names);
        auto it = cache.find(result.best_string);
        if (it != cache.end()) result.best_outcome = it->second;
        else if (is_all_exact(problem, *result.best) && problem.baseline_accuracy > 0) {
            // a strategy may answer the all-exact design without evaluating it: its accuracy
            // is the int8-exact baseline by definition
            Outcome o = problem.estimate_cost ? problem.estimate_cost(*result.best) : configuration_cost(problem, *result.best);
            o.accuracy = problem.baseline_accuracy;
            result.best_outcome = o;
        }
    }
    result.wall_seconds = seconds_since(t0);
    return result;
}

nlohmann::json exhaustive_accounting(const SearchProblem& problem, double wall_seconds) {
    nlohmann::json out = nlohmann::json::object();
    const double lb = problem.block_names.empty() ? 0.0 : std::log10(static_cast<double>(problem.block_names.size()));
    for (Granularity g : {Granularity::Layer, Granularity::Filter, Granularity::Operation}) {
        double units = 0;
        for (const auto& l : problem.layers) units += static_cast<double>(unit_count(l, g));
        const double log_n = units * lb;
        nlohmann::json e = {{"units", units}, {"log10_n_exh", log_n}};
        if (problem.eval_seconds > 0) {
            const double log_t = log_n + std::log10(problem.eval_seconds);
            e["log10_t_exh_seconds"] = log_t;
            if (wall_seconds > 0) e["log10_speedup_vs_wall"] = log_t - std::log10(wall_seconds);
        }
        out[to_string(g)] = e;
    }
    return out;
}

nlohmann::json to_json(const SearchResult& r, const SearchProblem& problem) {
    nlohmann::json evals = nlohmann::json::array();
    for (const auto& e : r.evaluations) evals.push_back(nlohmann::json::parse(log_line(e, nullptr)));
    nlohmann::json best = nullptr;
    if (r.best) {
        best = {{"configuration", r.best_string}};
        if (r.best_outcome) {
            const auto& o = *r.best_outcome;
            best["accuracy"] = std::isnan(o.accuracy) ? nlohmann::json(nullptr) : nlohmann::json(o.accuracy);
            best["power"] = optional_json(o.power_mw);
            best["area"] = optional_json(o.area_um2);
            best["latency"] = optional_json(o.latency_cycles);
        }
    }
    return {{"strategy", problem.strategy_name},
            {"granularity", to_string(problem.granularity)},
            {"accuracy_threshold", problem.accuracy_threshold},
            {"best", best},
            {"full_evaluations", r.full_evaluations},
            {"from_log", r.from_log},
            {"cache_hits", r.cache_hits},
            {"asked", r.asked},
            {"budget_exhausted", r.budget_exhausted},
            {"wall_seconds", r.wall_seconds},
            {"t_eval_seconds", problem.eval_seconds},
            {"exhaustive", exhaustive_accounting(problem, r.wall_seconds)},
            {"evaluations", evals}};
}

}  // namespace hawx
