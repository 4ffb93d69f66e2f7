#include "hawx/pipeline/outputs.hpp"

#include <cmath>
#include <map>
#include <set>

#include "hawx/framework/accelergy.hpp"
#include "hawx/framework/io.hpp"
#include "hawx/framework/pareto.hpp"
#include "hawx/framework/text.hpp"

namespace hawx::pipeline {

std::string table2_csv(const std::vector<SearchAnswer>& rows) {
    std::string csv = "strategy,objective,max_drop,threshold,configuration,evaluations,validation_accuracy,test_accuracy,"
                      "test_ci95,test_meets_threshold,accelerator,power_mw,area_um2,power_norm,area_norm,"
                      "costs_more_than_exact,finetune_validation_before,finetune_validation_after,finetune_test_before,"
                      "finetune_test_after,finetune_test_after_ci95,finetune_test_after_meets_threshold\n";
    const auto num = [](const nlohmann::json& j, const char* key) {
        return j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
    };
    for (const auto& r : rows) {
        const std::size_t n_acc = std::max<std::size_t>(1, r.accel.size());
        for (std::size_t a = 0; a < n_acc; ++a) {
            const nlohmann::json aj = a < r.accel.size() ? r.accel[a] : nlohmann::json::object();
            const std::string aname = aj.value("accelerator", std::string("-"));
            const double pn = num(aj, "power_norm");
            // an accelerator that runs the answer differently from the objective has its own accuracies
            const bool own = aj.contains("validation_accuracy"), own_test = aj.contains("test_accuracy");
            const double val = own ? num(aj, "validation_accuracy") : r.val_acc;
            const double test = own_test ? num(aj, "test_accuracy") : own ? std::nan("") : r.test_acc;
            const double ci = own_test ? num(aj, "test_ci95") : own ? std::nan("") : r.test_ci;
            const bool meets = own_test ? aj.value("test_meets_threshold", false) : !own && r.test_meets;
            csv += csv_field(r.strategy) + "," + csv_field(r.objective) + "," + fixed_or_dash(r.drop, 2) + "," + fixed_or_dash(r.threshold, 4) + "," +
                   csv_field(r.config) + "," + std::to_string(r.evaluations) + "," + fixed_or_dash(val, 4) + "," +
                   fixed_or_dash(test, 4) + "," + fixed_or_dash(ci, 4) + "," +
                   (meets ? "true" : "false") + "," + csv_field(aname) + "," +
                   fixed_or_dash(num(aj, "power_mw"), 6) + "," + fixed_or_dash(num(aj, "area_um2"), 6) + "," +
                   fixed_or_dash(pn, 6) + "," + fixed_or_dash(num(aj, "area_norm"), 6) + "," +
                   (pn > 1.0 + 1e-12 ? "true" : "false");
            if (const auto& f = r.finetune)
                csv += "," + fixed_or_dash(f->val_before, 4) + "," + fixed_or_dash(f->val_after, 4) + "," +
                       fixed_or_dash(f->test_before, 4) + "," + fixed_or_dash(f->test_after, 4) + "," +
                       fixed_or_dash(f->test_after_ci, 4) + "," + (f->test_after_meets ? "true" : "false") + "\n";
            else
                csv += ",-,-,-,-,-,-\n";
        }
    }
    return csv;
}

void write_pareto_sets(const RunFolder& folder, CostModel& costs,
                       const std::vector<std::pair<std::string, EvaluationRecord>>& evaluated,
                       const std::vector<std::map<std::string, double>>& accuracy_on) {
    for (std::size_t a = 0; a < costs.size(); ++a) {
        ParetoSet front;
        std::set<std::string> seen;
        std::string all = "accuracy,power,area,configuration,strategy\n";
        for (const auto& [strategy, e] : evaluated) {
            if (!seen.insert(e.key).second) continue;
            if (e.outcome.status != EvalStatus::Evaluated) continue;  // no accuracy, or no cost
            const Outcome o = costs.normalized(a, e.configuration);
            if (o.status != EvalStatus::Evaluated) continue;
            ParetoPoint pt;
            pt.accuracy = e.outcome.accuracy;
            if (a < accuracy_on.size()) {
                const auto it = accuracy_on[a].find(e.key);
                if (it == accuracy_on[a].end()) continue;  // not evaluated as this accelerator runs it
                pt.accuracy = it->second;
            }
            pt.power = *o.power_mw;
            pt.area = *o.area_um2;
            pt.configuration = e.key;
            pt.extra = {{"strategy", strategy}};
            all += sig9(pt.accuracy) + "," + sig9(pt.power) + "," + sig9(pt.area) + "," + csv_field(pt.configuration) + "," +
                   csv_field(strategy) + "\n";
            front.add(std::move(pt));
        }
        write_file_atomic(folder.file("evaluated_" + costs.name(a) + ".csv"), all);
        front.write_json(folder.file("pareto_" + costs.name(a) + ".json"));
        front.write_csv(folder.file("pareto_" + costs.name(a) + ".csv"));
    }
}

void write_outputs(const Experiment& ex, const RunFolder& folder, CostModel& costs, const RunSummary& s,
                   const SearchRuns& runs) {
    const Workbench& w = *s.workbench;
    const Baselines& b = *s.baselines;
    const ProfileRun& pr = *s.profile;
    const engine::ScoreTable& scores = pr.report.scores;
    write_pareto_sets(folder, costs, runs.evaluated, runs.accuracy_on);
    nlohmann::json results = {
        {"model", w.md.meta.model},
        {"checkpoint", ex.model->checkpoint},
        {"blocks", ex.blocks.names},
        {"granularity", to_string(ex.spec->granularity)},
        {"baseline",
         {{"float", {{"validation", b.float_val.accuracy}, {"test", b.float_test.accuracy}}},
          {"exact", {{"validation", b.exact_val.accuracy}, {"test", b.exact_test.accuracy}}},
          {"validation_images", w.val_n},
          {"test_images", w.test_n}}},
        {"representatives", pr.reps.ids},
        {"metric", s.metric_id},
        {"skipped_configurations", costs.skipped()},
        {"scores", {{"model_mean", scores.model_mean}, {"model_sum", scores.model_sum}}},
        {"timing",
         {{"t_eval_s", b.t_eval + (b.finetune_in_loop ? b.t_finetune : 0.0)},
          {"t_prof_s", pr.t_prof},
          {"t_score_s", pr.t_score},
          {"t_representatives_s", pr.t_rep}}},
        {"searches", runs.summary}};
    if (b.t_finetune > 0) {
        results["timing"]["t_finetune_s"] = b.t_finetune;
        // under finetune_in_loop an evaluation is a fine-tune and a validation pass (eq. 8)
        if (b.finetune_in_loop) results["timing"]["t_eval_without_finetune_s"] = b.t_eval;
    }
    if (!runs.predictor_check.is_null()) results["predictor_check"] = runs.predictor_check;
    // Per-block cost rows for Timeloop/Accelergy (blocks without a positive delay are skipped).
    std::vector<AccelergyRow> arows;
    for (std::size_t i = 0; i < ex.blocks.names.size(); ++i)
        if (ex.blocks.costs[i].delay_ns > 0) arows.push_back(accelergy_row(ex.blocks.names[i], ex.blocks.costs[i]));
    write_file_atomic(folder.file("accelergy_blocks.csv"), accelergy_table(arows));
    write_file_atomic(folder.file("results.json"), results.dump(1) + "\n");
    write_file_atomic(folder.file("table2.csv"), table2_csv(runs.answers));
}

}  // namespace hawx::pipeline
