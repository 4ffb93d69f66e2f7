#include "hawx/pipeline/evaluator.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>

#include "hawx/engine/conversions.hpp"
#include "hawx/framework/config_string.hpp"
#include "hawx/framework/text.hpp"
#include "hawx/pipeline/distributed.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/zoo/progress.hpp"

namespace fs = std::filesystem;

namespace hawx::pipeline {

Evaluator::Evaluator(zoo::Network& net, engine::Engine& engine, EvalData validation, std::vector<std::string> block_names,
                     bool copy_outputs)
    : net_(net),
      engine_(engine),
      val_(validation),
      names_(std::move(block_names)),
      cache_(engine, std::size_t{1} << 30, copy_outputs),
      tag_("validation/" + std::to_string(validation.count) + "/" + std::to_string(validation.batch_size)) {}

zoo::EvalResult Evaluator::evaluate(const Dataset& data, std::size_t count) const {
    return zoo::evaluate(net_, data, *val_.spec, val_.batch_size, count);
}

double Evaluator::local_accuracy(const Configuration& c) {
    if (net_.stage_count() > 1) {
        if (!staged_)
            staged_ = std::make_unique<zoo::StagedEvaluator>(net_, engine_, *val_.images, val_.count, *val_.spec,
                                                            val_.batch_size, std::size_t{1} << 30);
        return staged_->evaluate(engine::to_assignment(c)).accuracy;
    }
    net_.set_runner(&cache_);
    cache_.begin(engine::to_assignment(c), tag_);
    const zoo::EvalResult r = evaluate(*val_.images, val_.count);
    net_.set_runner(&engine_);
    return r.accuracy;
}

void Evaluator::serve() {
    mpi::serve([this](const Configuration& c) { return local_accuracy(c); });
}

std::size_t Evaluator::recall_logs(const std::string& search_dir, const std::string& hash, bool finetuned,
                                   const EvaluatedAs& evaluated_as) {
    std::map<std::string, double>& memo = finetuned ? tuned_memo_ : memo_;
    for (const auto& entry : fs::directory_iterator(search_dir)) {
        const std::string path = entry.path().string();
        if (entry.path().extension() != ".jsonl") continue;
        const SearchLog log = read_search_log(path);
        if (!log.header.is_object() || !log.header.contains("context") || !log.header.at("context").is_object() ||
            log.header.at("context").value("experiment", std::string()) != hash)
            continue;
        // Failed (skipped) configurations stay failing: they are not in the memo and are
        // costed, or evaluated, again.
        for (const auto& e : log.evaluations)
            if (e.outcome.status == EvalStatus::Evaluated)
                memo.emplace(evaluated_as ? evaluated_as(log.header, e.configuration) : e.configuration, e.outcome.accuracy);
    }
    return memo.size();
}

FinetuneOutcome Evaluator::finetuned(const Configuration& c, const Dataset* test, std::size_t test_n) {
    if (!finetuner_) throw Error("internal: fine-tuning asked of an evaluator without a finetuner");
    const std::string key = format_configuration(c, names_);
    FinetuneOutcome o = finetuner_->run(key, engine::to_assignment(c), test, test_n);
    o.val_before = accuracies({c}).front();
    tuned_memo_[key] = o.val_after;
    tuned_seconds_[key] = o.seconds;
    return o;
}

double Evaluator::mean_finetune_seconds() const {
    double sum = 0;
    for (const auto& [key, s] : tuned_seconds_) sum += s;
    return tuned_seconds_.empty() ? 0.0 : sum / static_cast<double>(tuned_seconds_.size());
}

nlohmann::json Evaluator::log_annotation(const std::string& asked) const {
    const auto as = evaluated_as_.find(asked);
    const std::string& key = as == evaluated_as_.end() ? asked : as->second;
    const auto s = tuned_seconds_.find(key);
    const auto before = memo_.find(key);
    if (s == tuned_seconds_.end() || before == memo_.end()) return nullptr;
    return {{"accuracy_before_finetune", before->second}, {"finetune_s", s->second}};
}

std::vector<double> Evaluator::accuracies(const std::vector<Configuration>& batch, const Progress& progress,
                                          bool finetuned) {
    std::map<std::string, double>& memo = finetuned ? tuned_memo_ : memo_;
    std::vector<Configuration> todo;
    std::vector<std::size_t> pos;
    for (std::size_t i = 0; i < batch.size(); ++i)
        if (!memo.count(format_configuration(batch[i], names_))) todo.push_back(batch[i]), pos.push_back(i);
    // Fine-tuning runs here only: the other ranks hold no fine-tuning state.
    const auto one = [&](const Configuration& c) { return finetuned ? this->finetuned(c).val_after : local_accuracy(c); };
    std::vector<double> fresh;
    if (mpi::world().size > 1 && !finetuned) {
        fresh = mpi::distribute(todo, [this](const Configuration& c) { return local_accuracy(c); });
    } else if (todo.size() > 1) {
        zoo::ProgressBar bar = zoo::ProgressBar::lines_unless_terminal(todo.size(), finetuned ? "fine-tunes" : "evaluations");
        for (std::size_t k = 0; k < todo.size(); ++k) {
            fresh.push_back(one(todo[k]));
            bar.step(1, progress ? progress(pos[k], fresh.back()) : fixed_or_dash(fresh.back(), 2) + "%");
        }
        bar.finish();
    } else {
        for (const auto& c : todo) fresh.push_back(one(c));
    }
    for (std::size_t i = 0; i < todo.size(); ++i) memo[format_configuration(todo[i], names_)] = fresh[i];
    std::vector<double> acc;
    for (const auto& c : batch) acc.push_back(memo.at(format_configuration(c, names_)));
    return acc;
}

BatchEvaluator Evaluator::for_search(CostModel& costs, OnError on_error, std::size_t objective, double threshold,
                                     bool finetuned) {
    // best so far for the progress display: the cheapest configuration meeting the threshold
    auto best = std::make_shared<double>(std::numeric_limits<double>::infinity());
    return [this, &costs, on_error, objective, threshold, best, finetuned](const std::vector<Configuration>& batch) {
        // Costs first: a configuration the accelerator cannot cost is not worth evaluating.
        std::vector<Outcome> out(batch.size());
        // What is evaluated is what the accelerator runs: below layer granularity its mapping may
        // move units that share a multiplier to one block, and the accuracy must be that of the
        // configuration whose power is reported.
        std::vector<Configuration> costed;
        std::vector<std::size_t> where;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            Configuration runs = batch[i];
            if (costs.has_accelerators()) {
                out[i] = costs.cost(objective, batch[i], &runs);
                if (out[i].status == EvalStatus::Skipped) continue;
                if (runs.granularity != batch[i].granularity || runs.blocks != batch[i].blocks)
                    evaluated_as_[format_configuration(batch[i], names_)] = format_configuration(runs, names_);
            }
            costed.push_back(std::move(runs));
            where.push_back(i);
        }
        const Progress progress = [&](std::size_t k, double a) {
            const Outcome& o = out[where[k]];
            if (a >= threshold && o.power_mw && *o.power_mw < *best) *best = *o.power_mw;
            std::string s = "last " + fixed_or_dash(a, 2) + "%";
            if (std::isfinite(*best)) s += ", best so far " + fixed(*best, 3) + " mW";
            return s;
        };
        const std::vector<double> acc = accuracies(costed, progress, finetuned);
        for (std::size_t k = 0; k < costed.size(); ++k) {
            Outcome& o = out[where[k]];
            o.accuracy = acc[k];
            if (std::isfinite(acc[k])) continue;
            const std::string key = format_configuration(costed[k], names_);
            const std::string what = "evaluation of " + key + " gave a non-finite accuracy";
            if (on_error != OnError::Skip) throw Error(what);
            if (costs.note_skipped(key)) std::printf("skipped: %s\n", what.c_str());
            o.status = EvalStatus::Failed;
            o.accuracy = std::numeric_limits<double>::quiet_NaN();
        }
        return out;
    };
}

}  // namespace hawx::pipeline
