#pragma once
/// \file
/// Step 3 of the method: the search problem built from the scores, the check of the scores
/// against measured accuracy (every block in every layer, the paper's Fig. 4), and every
/// search strategy at every accuracy threshold through the search driver, each answer then
/// measured on the test set and costed on every accelerator.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <hawx/sdk/search.hpp>

#include "hawx/framework/search_driver.hpp"
#include "hawx/pipeline/cost_model.hpp"
#include "hawx/pipeline/experiment.hpp"
#include "hawx/pipeline/finetune.hpp"
#include "hawx/pipeline/profiling.hpp"
#include "hawx/pipeline/run_folder.hpp"
#include "hawx/zoo/evaluate.hpp"

namespace hawx::pipeline {

/// Accuracies the method starts from (percent), and the time of one validation evaluation.
struct Baselines {
    zoo::EvalResult float_val, float_test, exact_val, exact_test;
    double t_eval = 0;  ///< seconds, one int8-exact evaluation of the validation images
    /// Mean seconds of one fine-tune (manifest key finetune; 0 without). Under
    /// exploration.finetune_in_loop, part of every evaluation: results.json's t_eval_s includes it.
    double t_finetune = 0;
    bool finetune_in_loop = false;
};

/// The problem every strategy is given: layers, blocks and costs, the metric's scores at
/// the experiment's granularity, the int8-exact baseline, seed and budget. The objective's
/// estimate_cost is set when the experiment has accelerators.
SearchProblem make_search_problem(const Experiment& ex, const std::vector<LayerShape>& shapes,
                                  const engine::ScoreTable& scores, const Baselines& base, CostModel& costs);

/// Every block in every layer: validation accuracy against hawx(model) (the paper's Fig. 4),
/// Spearman's rho printed and stored in `profile.report`; writes model_scores.csv and the
/// score files into the run folder.
void check_scores_against_accuracy(const SearchProblem& problem, const BatchEvaluator& evaluate, ProfileRun& profile,
                                   const std::string& metric_id, std::size_t library_size, const RunFolder& folder);

/// A search answer fine-tuned (manifest key `finetune`); accuracies in percent.
struct AnswerFinetune {
    double val_before = 0, val_after = 0, test_before = 0, test_after = 0, test_after_ci = 0;
    bool test_after_meets = false;  ///< test after >= int8-exact test - max_drop
    double seconds = 0;
    nlohmann::json history = nlohmann::json::array();  ///< per epoch: loss, accuracy, validation
};

/// One strategy at one threshold: a row of the Table II analog.
struct SearchAnswer {
    std::string strategy, config;
    std::string objective;  ///< the accelerator whose cost the search minimized ("weights" without one)
    double drop = 0, threshold = 0, val_acc = 0, test_acc = 0, test_ci = 0;
    bool found = false, test_meets = false;
    std::uint64_t evaluations = 0, cache_hits = 0;
    double wall = 0;
    nlohmann::json accel = nlohmann::json::array();
    /// With fine-tuning. Under exploration.finetune_in_loop the row's own accuracies are
    /// those after fine-tuning (what the search judged by), else before.
    std::optional<AnswerFinetune> finetune;
};

struct SearchRuns {
    std::vector<SearchAnswer> answers;
    /// Every evaluation of every search, with the strategy's name (Pareto sets).
    std::vector<std::pair<std::string, EvaluationRecord>> evaluated;
    nlohmann::json summary = nlohmann::json::array();  ///< results.json "searches"
    nlohmann::json predictor_check;                     ///< results.json "predictor_check" (null: none)
    /// With several accelerators: per accelerator, each evaluated configuration's key -> the
    /// validation accuracy of what that accelerator runs (below layer granularity its mapping
    /// may regroup units differently from the searches' objective). Empty with one accelerator.
    std::vector<std::map<std::string, double>> accuracy_on;
};

/// How well the predictors rank configurations (issue 17): when the searches named in
/// `exhaustive` (search.exhaustive entries) evaluated configurations, Spearman's rho (ties at
/// their mean rank) between each predictor of the drop and the validation accuracy over every
/// distinct configuration they evaluated, and over those within 3 points of the baseline:
/// the drop predictor (problem.predict_drop; measured now if no strategy asked for it yet),
/// the summed hawx scores (score sums) and the configuration's power negated (the cost alone).
/// Negative is good; issue 17 asks for <= -0.90. Printed; returned for results.json (null
/// when no exhaustive search ran or it evaluated fewer than 3 configurations).
nlohmann::json check_predictors(const SearchProblem& problem, const std::vector<std::string>& exhaustive,
                                const SearchRuns& runs);

/// Test accuracy of a configuration (the answer of a search).
using TestEvaluator = std::function<zoo::EvalResult(const Configuration&)>;

/// Timing of steps 1-2, written into each search's accounting.
struct ProfileTimes {
    double t_rep = 0, t_prof = 0, t_score = 0;
};

/// The search's evaluator for objective (accelerator) `a` at an accuracy threshold (percent).
using ObjectiveEvaluator = std::function<BatchEvaluator(std::size_t a, double threshold)>;

/// Fine-tuning of the answers: `run` fine-tunes a configuration and measures it on the
/// validation and test images; `in_loop`: the searches' evaluator already judges by it
/// (exploration.finetune_in_loop); `annotate` adds to each search log line
/// (SearchLogOptions::annotate).
struct AnswerFinetuning {
    std::function<FinetuneOutcome(const Configuration&)> run;
    bool in_loop = false;
    std::function<nlohmann::json(const std::string&)> annotate;
    /// Mean seconds of one fine-tune so far: under in_loop part of t_eval in the accounting (eq. 8).
    std::function<double()> mean_seconds;
};

/// Runs each strategy of the manifest at each max_drop threshold and for each objective: the
/// search entry's `objective` accelerator, else every accelerator in turn (the accuracy
/// evaluations are shared through the run's memo; only the costs differ). Logs are in the run
/// folder's search/ (`<name>_drop<D>[_<accelerator>].jsonl`, the suffix when the manifest has
/// several accelerators), resumed from them. Each answer is measured on the test set and
/// reported on every accelerator; where another accelerator realizes it differently from the
/// objective, that accelerator's entry carries the validation (and, unless fine-tuning is in
/// the loop, test) accuracy of what it runs, evaluated outside the search's count. Throws hawx::Error naming the strategy, threshold and
/// objective when a search fails. With `finetuning`, each answer is fine-tuned as well.
SearchRuns run_searches(const Experiment& ex, const SearchProblem& problem, const ObjectiveEvaluator& evaluate,
                        const TestEvaluator& test, const Baselines& base, CostModel& costs, const RunFolder& folder,
                        const ProfileTimes& times, const AnswerFinetuning* finetuning = nullptr);

/// With several accelerators, fills runs.accuracy_on: each configuration the searches evaluated,
/// evaluated as each accelerator realizes it (memo first: only realizations no search ran are
/// new evaluations, counted in no search).
void measure_accuracy_on_each_accelerator(SearchRuns& runs, const ObjectiveEvaluator& evaluate, CostModel& costs);

/// Half-width of the 95% confidence interval of an accuracy (percent) measured on n images
/// (normal approximation of the binomial); NaN for n = 0.
double ci95(double accuracy_percent, std::size_t n);

/// Images an evaluation split needs for ci95(accuracy_percent, n) <= half_width_points: the
/// smallest n with 1.96^2 p (1 - p) / n <= h^2 (a way to size the validation split for a
/// threshold: the interval of one accuracy, an upper bound on what a drop measured against the
/// baseline on the same images varies). 0 (no estimate) for half_width_points <= 0 and for an
/// accuracy of 0% or 100%, where the normal approximation has no width.
std::size_t images_for_ci95(double accuracy_percent, double half_width_points);

/// A drop measured against the baseline on the same images (paired): per image the difference
/// baseline right - other right is 1 (lost), -1 (gained) or 0.
struct PairedDrop {
    std::size_t images = 0, lost = 0, gained = 0;
    double points = 0.0;  ///< 100 (lost - gained) / images
    double ci95 = 0.0;    ///< half-width, points: 1.96 sd / sqrt(images), sd of the per-image difference
    /// Images a split needs for a ci95 of half_width_points at this drop's per-image variance
    /// (the smallest n with 1.96^2 var / n <= h^2); 0 where the variance is 0 or h <= 0.
    std::size_t images_for(double half_width_points) const;
};

/// Pairs two zoo::EvalResult::per_image vectors of the same images; nullopt when either is
/// empty or their lengths differ.
std::optional<PairedDrop> paired_drop(const std::vector<std::uint8_t>& baseline, const std::vector<std::uint8_t>& other);

}  // namespace hawx::pipeline
