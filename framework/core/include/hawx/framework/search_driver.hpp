#pragma once
/// \file
/// The search driver: runs an ask/tell SearchStrategy against a batch evaluator, with a
/// cache keyed by the canonical configuration string, an evaluation budget, and a resumable
/// JSON-lines log (torch-free; the pipeline supplies the evaluator). See docs/search.md.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <hawx/sdk/search.hpp>

namespace hawx {

/// Evaluates a batch of configurations (possibly in parallel or over MPI ranks) and returns
/// one Outcome per configuration, in the same order. Costs it leaves empty are filled by the
/// driver from SearchProblem::estimate_cost, or configuration_cost when that is null.
/// Anything it throws propagates out of run_search; batches finished before are logged.
using BatchEvaluator = std::function<std::vector<Outcome>(const std::vector<Configuration>&)>;

/// Where and how the driver logs.
struct SearchLogOptions {
    std::string path;  ///< JSON-lines log; empty: no log (and no resumption)
    /// The strategy's qualified name and resolved parameters, part of the problem identity.
    std::string strategy_name;
    nlohmann::json strategy_params = nlohmann::json::object();
    /// Anything else that changes outcomes and must match on resume (model, data, blocks'
    /// parameters...); part of the identity, compared as given.
    nlohmann::json context = nlohmann::json::object();
    bool fsync = true;  ///< fsync after each batch's lines (tests may turn it off)
    /// Extra fields of a new log line, asked after its batch was evaluated with the
    /// configuration's canonical key (an object, merged without replacing the line's own
    /// fields; null adds nothing). Not part of the problem identity; read back as extra fields.
    std::function<nlohmann::json(const std::string& key)> annotate;
};

/// One full evaluation, in the order the search made them.
struct EvaluationRecord {
    std::uint64_t index = 0;
    Configuration configuration;
    std::string key;  ///< canonical configuration string
    Outcome outcome;
    double seconds = 0.0;   ///< the batch's wall time divided by its new configurations
    std::string timestamp;  ///< UTC, ISO 8601, when the batch finished
    bool from_log = false;  ///< taken from the log of an earlier, interrupted run
};

struct SearchResult {
    std::optional<Configuration> best;  ///< the strategy's answer; nullopt: nothing met the threshold
    std::string best_string;            ///< canonical string of best ("" when none)
    std::optional<Outcome> best_outcome;
    std::vector<EvaluationRecord> evaluations;  ///< every full evaluation, in order
    std::uint64_t full_evaluations = 0;  ///< distinct configurations evaluated (this run and logged)
    std::uint64_t from_log = 0;          ///< of those, outcomes read from the log, not recomputed
    std::uint64_t cache_hits = 0;        ///< asked configurations answered from the cache
    std::uint64_t asked = 0;             ///< configurations returned by ask()
    bool budget_exhausted = false;       ///< stopped by problem.max_evaluations
    double wall_seconds = 0.0;
};

/// Canonical key of a configuration (its string in the paper's notation).
std::string configuration_key(const Configuration& c, const std::vector<std::string>& block_names);

/// 64-bit identity hash of a problem and strategy (what a log header records), as 16 hex digits.
std::string problem_hash(const SearchProblem& problem, const SearchLogOptions& options);

/// Runs the search: strategy.start(problem); then repeatedly ask(), look each configuration up
/// in the cache (canonical string), evaluate the new ones in one batch call, log them, and
/// tell() every asked configuration in ask order; until ask() returns nothing or
/// problem.max_evaluations full evaluations are spent (then the first new configurations of
/// the last batch, up to the budget, are evaluated and told, the rest are not, and the
/// search stops). With a log: a missing or empty file is started with a header line; an
/// existing one must come from the same problem (else hawx::Error naming the file and the
/// field that differs); its outcomes pre-fill the cache, so the strategy, restarted with the
/// same seed, replays to the same result without re-evaluating them. A truncated last line
/// (a kill mid-write) is dropped and cut from the file; any other malformed line is an error.
/// Throws hawx::Error for a configuration with a wrong shape or block index, or an
/// evaluator returning the wrong number of outcomes.
SearchResult run_search(SearchStrategy& strategy, const SearchProblem& problem, const BatchEvaluator& evaluate,
                        const SearchLogOptions& options = {});

/// One log line's content as read back.
struct LoggedEvaluation {
    std::uint64_t index = 0;
    std::string configuration;
    Outcome outcome;
    double seconds = 0.0;
    std::string timestamp;
};

/// A log file read back: its header and its complete lines (a truncated last line dropped).
struct SearchLog {
    nlohmann::json header;
    std::vector<LoggedEvaluation> evaluations;
    bool truncated_tail = false;  ///< the file ended in a partial line
};
/// Reads a log without changing it. Throws hawx::Error naming the file and line for a malformed
/// line, an unknown status, or indices that do not count 0, 1, 2, ... (a repeat means two
/// processes appended to it).
SearchLog read_search_log(const std::string& path);

/// Accounting for comparison with exhaustive search (eq. 7-9): log10 of N_exh = B^units at
/// each granularity, log10 of T_exh = N_exh * t_eval, and the speedup log10(T_exh / wall).
nlohmann::json exhaustive_accounting(const SearchProblem& problem, double wall_seconds);

/// The result as JSON: best (string and outcome), counts, wall time, accounting, and every
/// evaluation {index, configuration, accuracy, power, area, latency, seconds, timestamp}.
nlohmann::json to_json(const SearchResult& result, const SearchProblem& problem);

}  // namespace hawx
