// hawx run on a manifest with a model: the whole HAWX method, steps 1-4, into one run folder.
// Each step is a unit of this library (docs/architecture.md); this page only strings them
// together in the method's order.
#include "hawx/pipeline/pipeline.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

#include "hawx/engine/conversions.hpp"
#include "hawx/data/datasets.hpp"
#include "hawx/engine/engine.hpp"
#include "hawx/engine/gradient.hpp"
#include "hawx/framework/config_string.hpp"
#include "hawx/framework/io.hpp"
#include "hawx/framework/text.hpp"
#include "hawx/pipeline/cost_model.hpp"
#include "hawx/pipeline/distributed.hpp"
#include "hawx/pipeline/evaluator.hpp"
#include "hawx/pipeline/finetune.hpp"
#include "hawx/pipeline/model_data.hpp"
#include "hawx/pipeline/outputs.hpp"
#include "hawx/pipeline/predictor.hpp"
#include "hawx/pipeline/profiling.hpp"
#include "hawx/pipeline/run_folder.hpp"
#include "hawx/pipeline/searches.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/zoo/quantized.hpp"
#include "hawx/zoo/script_network.hpp"
#include "hawx/zoo/staged_evaluator.hpp"

namespace hawx::pipeline {

namespace {

engine::EngineOptions engine_options(const ExperimentSpec& s) {
    engine::EngineOptions eo;
    eo.threads = s.threads;
    eo.calibration = s.calibration == Calibration::MinMax ? engine::CalibrationMethod::MinMax
                                                          : engine::CalibrationMethod::Percentile;
    eo.percentile = s.percentile;
    if (s.finetune) {
        eo.gradient = engine::gradient_rule_from_string(s.finetune->gradient);
        eo.slope_rank = s.finetune->slope_rank;
    }
    return eo;
}

zoo::TrainOptions finetune_options(const FinetuneSpec& f, std::uint64_t manifest_seed, int threads) {
    zoo::TrainOptions t;
    t.epochs = f.epochs;
    t.lr = f.lr;
    t.batch_size = f.batch_size;
    t.optimizer = f.optimizer;
    t.momentum = f.momentum;
    t.weight_decay = f.weight_decay;
    t.schedule = f.schedule;
    t.seed = f.seed ? *f.seed : manifest_seed;
    t.threads = threads;
    return t;
}

// A fine-tuned checkpoint's ranges, unless the manifest sets the calibration (its
// `quantization` key): re-calibrating can undo the fine-tune.
const nlohmann::json* stored_ranges(const Experiment& ex, const Workbench& w) {
    return ex.manifest->document.contains("quantization") ? nullptr : finetuned_ranges(w.md.meta);
}

ProfileRequest profile_request(const Experiment& ex, const Workbench& w, const SensitivityMetric* metric,
                               const std::string& metric_id) {
    ProfileRequest q;
    q.profile_set = &w.profile_set;
    q.calibration_set = &w.train_part;
    q.calibration_images = ex.spec->calibration_images;
    q.k = ex.spec->representatives;
    q.seed = ex.manifest->seed;
    q.metric = metric;
    q.metric_id = metric_id;
    q.exact_index = ex.blocks.exact_index;
    q.per_position = ex.spec->granularity == Granularity::Operation;  // weight positions are the search's units
    q.distribution.seed = ex.manifest->seed;
    q.ranges = stored_ranges(ex, w);
    return q;
}

}  // namespace

std::string run_pipeline(const ManifestSetup& setup, const PipelineOptions& options) {
    // --- the experiment, its model and data; everything checked before a file is written.
    const Experiment ex = make_experiment(setup, std::cout);
    Workbench w = prepare_workbench(ex);
    zoo::Network& net = *w.md.net;
    if (ex.spec->finetune && zoo::is_torchscript_file(ex.model->checkpoint))
        throw Error(ex.file + ": finetune: " + ex.model->checkpoint +
                    " is a TorchScript model; fine-tuning trains zoo models (hawx checkpoints) only");
    const InputSpec& spec = *w.md.meta.input;
    CostModel costs(ex, w.shapes);
    costs.check_hosts(w.md.meta.model);
    engine::EngineOptions eo = engine_options(*ex.spec);
    eo.auto_trees = auto_mac_trees(*ex.setup, w.shapes.size(), std::cout);

    // --- the run folder (resumed when the same experiment was interrupted). Under mpirun,
    // rank 0 owns every file and the strategies; the other ranks only evaluate.
    const bool lead = mpi::world().rank == 0;
    std::optional<RunFolder> folder;
    if (lead) {
        folder.emplace(RunFolder::open(ex.manifest->output_dir, ex.manifest->name, ex.hash, options.fresh));
        std::cout << (folder->resumed() ? "resuming run folder: " : "run folder: ") << folder->path() << "\n";
        if (mpi::world().size > 1) std::cout << "MPI: " << mpi::world().size << " ranks evaluate\n";
        write_file_atomic(folder->file("manifest.resolved.json"), ex.resolved_json.dump(2) + "\n");
        std::filesystem::create_directories(folder->file("search"));
    }

    engine::Engine eng(ex.blocks.library.blocks, eo);
    at::set_num_threads(eng.options().threads);
    const std::size_t L = net.layer_descs().size();
    std::cout << "\nmodel: " << w.md.meta.model << " (" << w.md.meta.options.to_string() << "), " << L
              << " approximable layers; data: " << w.md.data.test.name << ", " << w.train_part.size() << " train / "
              << w.val_n << " validation / " << w.test_n << " test images\n";
    net.set_runner(nullptr);
    // Zoo networks never modify a layer's output in place, so cached outputs need no copies.
    Evaluator evaluator(net, eng, EvalData{&w.val, w.val_n, &spec, ex.spec->batch_size}, ex.blocks.names,
                        zoo::is_torchscript_file(ex.model->checkpoint));
    const nlohmann::json* ranges = stored_ranges(ex, w);
    if (ranges)
        std::cout << "calibration: the activation ranges " << ex.model->checkpoint
                  << " was fine-tuned with (the manifest's `quantization` key calibrates instead)\n";
    else if (finetuned_ranges(w.md.meta))
        std::cout << "calibration: measured again on " << ex.model->checkpoint
                  << ", a fine-tuned checkpoint, as the manifest's `quantization` key says (not the ranges it was "
                     "fine-tuned with)\n";
    if (!lead) {
        if (ranges)
            use_ranges(net, eng, *ranges);
        else
            zoo::calibrate(net, eng, w.train_part, spec, ex.spec->calibration_images);
        evaluator.serve();
        return std::string();
    }

    // --- 1-2. baselines in float, representatives, calibration, gradient profile, scores.
    Baselines base;
    base.float_val = evaluator.evaluate(w.val, w.val_n);
    base.float_test = evaluator.evaluate(w.md.data.test, w.test_n);
    std::string metric_id;
    const std::shared_ptr<SensitivityMetric> metric =
        choose_metric("", ex.resolved(), setup.instances, ex.plugins(), &metric_id);
    ProfileRun pr = profile_and_score(net, eng, ex.blocks.library, spec, profile_request(ex, w, metric.get(), metric_id));
    pr.report.header["checkpoint"] = ex.model->checkpoint;
    pr.report.header["model"] = w.md.meta.model;
    write_file_atomic(folder->file("representatives.json"), pr.reps.to_json().dump(1) + "\n");
    eng.set_assignment(engine::ModelAssignment::uniform(ex.blocks.exact_index, L));
    const auto t0 = std::chrono::steady_clock::now();
    base.exact_val = evaluator.evaluate(w.val, w.val_n);
    base.t_eval = seconds_since(t0);
    base.exact_test = evaluator.evaluate(w.md.data.test, w.test_n);
    std::printf("\n%-12s %12s %12s\n%-12s %11.2f%% %11.2f%%\n%-12s %11.2f%% %11.2f%%\n", "baseline", "validation", "test",
                "float", base.float_val.accuracy, base.float_test.accuracy,
                ex.blocks.is_signed ? "int8-exact" : "uint8-exact", base.exact_val.accuracy, base.exact_test.accuracy);
    std::printf("profile: %zu representatives (%.2f s), %s scores (t_prof %.3f s, t_score %.3f s)\n", pr.reps.ids.size(),
                pr.t_rep, metric_id.c_str(), pr.t_prof, pr.t_score);
    std::fflush(stdout);

    // --- 3. search: the problem, the scores checked against accuracy, every strategy.
    SearchProblem problem = make_search_problem(ex, w.shapes, pr.report.scores, base, costs);
    // The drop predictor is measured the first time a strategy asks for a prediction.
    std::optional<DropPredictor> predictor;
    const std::vector<std::vector<std::vector<double>>> unit_weights = unit_score_shares(problem);
    const Dataset predictor_images = head(w.train_part, ex.spec->predictor_images);
    const auto measure_predictor = [&] {
        if (predictor) return;
        const auto t = std::chrono::steady_clock::now();
        std::vector<int> blocks;
        for (std::size_t b = 0; b < ex.blocks.names.size(); ++b)
            if (static_cast<int>(b) != ex.blocks.exact_block) blocks.push_back(static_cast<int>(b));
        std::vector<double> block_power;
        for (const auto& c : problem.block_costs) block_power.push_back(c.power_mw);
        predictor.emplace(DropPredictor::measure(net, eng, predictor_images, 0, spec, ex.spec->batch_size, blocks,
                                                 ex.blocks.exact_index, block_power));
        // Drops beyond a quarter of the accuracy are saturated (see extrapolate_saturated).
        const double cap = 0.25 * predictor->exact_accuracy();
        // The additive model trusts single drops at or below 0 (noise on a few thousand images)
        // while the moves they call free, taken together, lose little more than their sum: on
        // LeNet-5 (2000 images: predicted -0.40, measured -0.30) and VGG-11 (-0.05 / 0.05) keeping
        // the signed drops found the hard ladder's optimum more often than clamping them; on
        // ResNet-18 (21 layers) the free moves lost 6.40 points together where their sum
        // predicted a gain of 1.65. Beyond a point of difference (more than the 0.25-1 point
        // thresholds searched) the drops <= 0 are replaced (floor_by_loss).
        const auto& fm = predictor->free_moves();
        const std::optional<double> kappa = predictor->check_free_moves(cap, 1.0);
        const std::size_t raised = predictor->extrapolate_saturated(layer_score_sums(problem), cap);
        std::printf("drop predictor: every block in every layer on %zu training images (%zu passes, %.2f s; "
                    "int8-exact accuracy there %.2f%%; %zu saturated drops extrapolated by score; table in "
                    "drop_predictor.csv)\n",
                    predictor->images(), predictor->passes(), seconds_since(t), predictor->exact_accuracy(), raised);
        if (fm.moves > 0) {
            char verdict[128] = "additive, signed drops kept";
            if (kappa)
                std::snprintf(verdict, sizeof verdict,
                              "not additive; drops <= 0 replaced by %.4g points per unit of loss increase", *kappa);
            std::printf("drop predictor: free moves (the cheapest block measured <= 0 in each of %zu layers) together, "
                        "1 more pass: predicted %.2f, measured %.2f points: %s\n",
                        fm.moves, fm.predicted, fm.measured, verdict);
        }
        std::vector<std::string> layer_names;
        for (const auto& l : problem.layers) layer_names.push_back(l.name);
        write_file_atomic(folder->file("drop_predictor.csv"), predictor->table_csv(layer_names, problem.block_names));
        std::fflush(stdout);
    };
    const int classes = std::max({w.md.data.train.num_classes, w.md.data.test.num_classes, 1});
    const double collapse = std::max(problem.baseline_accuracy - 100.0 / classes, 0.0);
    problem.predict_drop = [&, collapse](const Configuration& c) {
        measure_predictor();
        return predictor->drop(c, unit_weights, collapse);
    };
    problem.predict_unit_drop = [&](std::size_t l, std::size_t u, int b) {
        measure_predictor();
        return predictor->unit_drop(l, u, b, unit_weights);
    };
    // Whole configurations on the predictor's training images: a staged evaluator of its own
    // (kept between calls, so that consecutive configurations sharing their first layers rerun
    // only the rest), memoized across thresholds and strategies.
    std::optional<zoo::StagedEvaluator> train_staged;
    std::map<std::vector<std::vector<int>>, double> train_drops;
    std::size_t train_measured = 0;
    double train_seconds = 0;
    problem.measure_drop = [&](const Configuration& c) {
        measure_predictor();
        if (const auto it = train_drops.find(c.blocks); it != train_drops.end()) return it->second;
        const auto t = std::chrono::steady_clock::now();
        if (!train_staged)
            train_staged.emplace(net, eng, predictor_images, 0, spec, ex.spec->batch_size, std::size_t{1} << 30);
        const double drop = predictor->exact_accuracy() - train_staged->evaluate(engine::to_assignment(c)).accuracy;
        train_seconds += seconds_since(t);
        ++train_measured;
        return train_drops.emplace(c.blocks, drop).first->second;
    };
    const bool in_loop = ex.spec->finetune_in_loop;
    // A log line below layer granularity holds the accuracy of what its objective accelerator
    // runs (context.accuracy_of), which another accelerator may realize differently.
    const Evaluator::EvaluatedAs evaluated_as = [&](const nlohmann::json& header, const std::string& key) {
        const nlohmann::json& ctx = header.at("context");
        if (!ctx.contains("accuracy_of")) return key;
        std::size_t a = 0;
        const std::string objective = ctx.value("objective", std::string());
        while (a + 1 < costs.size() && !objective.empty() && costs.name(a) != objective) ++a;
        const Configuration c = parse_configuration(key, problem.block_names, problem.layers, problem.granularity);
        return format_configuration(costs.realized(a, c), problem.block_names);
    };
    if (const std::size_t n = evaluator.recall_logs(folder->file("search"), ex.hash, in_loop, evaluated_as))
        std::printf("resumed: %zu accuracies read back from the search logs, not evaluated again\n", n);
    const ObjectiveEvaluator evaluate = [&](std::size_t a, double threshold) {
        return evaluator.for_search(costs, ex.spec->on_error, a, threshold, in_loop);
    };
    // Fine-tuning (manifest key finetune): of every answer, or of every configuration a search judges.
    const Dataset finetune_images =
        ex.spec->finetune ? head(w.train_part, ex.spec->finetune->images) : Dataset();
    std::optional<Finetuner> finetuner;
    AnswerFinetuning finetuning;
    if (const auto& f = ex.spec->finetune) {
        FinetuneData fd;
        fd.train = &finetune_images;
        fd.val = &w.val;
        fd.val_n = w.val_n;
        fd.spec = spec;
        fd.eval_batch = ex.spec->batch_size;
        finetuner.emplace(net, eng, fd, finetune_options(*f, ex.manifest->seed, eng.options().threads));
        evaluator.set_finetuner(&*finetuner);
        finetuning.run = [&](const Configuration& c) { return evaluator.finetuned(c, &w.md.data.test, w.test_n); };
        finetuning.in_loop = in_loop;
        if (in_loop) finetuning.annotate = [&](const std::string& key) { return evaluator.log_annotation(key); };
        finetuning.mean_seconds = [&] { return evaluator.mean_finetune_seconds(); };
        const zoo::TrainOptions& t = finetuner->options();
        std::printf("fine-tuning %s: %d epoch(s) on %zu training images, %s lr %g (%s), batch %zu, gradient %s, seed %llu; "
                    "activation ranges of the run kept\n",
                    in_loop ? "every configuration the searches judge (exploration.finetune_in_loop; t_eval includes it)"
                            : "each search answer",
                    t.epochs, finetune_images.size(), t.optimizer.c_str(), t.lr, t.schedule.c_str(), t.batch_size,
                    f->gradient.c_str(), static_cast<unsigned long long>(t.seed));
    }
    // The scores predict the loss before any fine-tuning: the Fig. 4 check measures that.
    check_scores_against_accuracy(problem, evaluator.for_search(costs, ex.spec->on_error, 0, std::nan("")), pr, metric_id,
                                  ex.blocks.library.names.size(), *folder);
    const TestEvaluator test = [&](const Configuration& c) {
        eng.set_assignment(engine::to_assignment(c));
        return evaluator.evaluate(w.md.data.test, w.test_n);
    };
    SearchRuns runs = run_searches(ex, problem, evaluate, test, base, costs, *folder,
                                   ProfileTimes{pr.t_rep, pr.t_prof, pr.t_score}, finetuner ? &finetuning : nullptr);
    if (train_measured > 0) {
        std::printf("\ndrop predictor: %zu configurations measured whole on its %zu training images for the searches "
                    "(%.2f s in all, within the searches' wall times; not accuracy evaluations)\n",
                    train_measured, predictor->images(), train_seconds);
        train_staged.reset();  // its cached stage outputs
        // What the searches saw, so that their choices can be checked against the validation
        // accuracies of the search logs (and of an exhaustive log) afterwards.
        std::string csv = "configuration,training_drop\n";
        for (const auto& [blocks, drop] : train_drops)
            csv += csv_field(format_configuration(Configuration{problem.granularity, blocks}, problem.block_names)) +
                   "," + sig9(drop) + "\n";
        write_file_atomic(folder->file("drop_predictor_measured.csv"), csv);
    }
    const std::size_t known = evaluator.memo_size();
    measure_accuracy_on_each_accelerator(runs, evaluate, costs);
    if (const std::size_t n = evaluator.memo_size() - known)
        std::printf("\n== Pareto sets: %zu configuration%s evaluated as an accelerator other than the search's objective "
                    "realizes %s (counted in no search), so that each accelerator's Pareto set has the accuracy of what "
                    "it runs\n",
                    n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
    std::vector<std::string> exhaustive;
    for (const ResolvedComponent& sc : ex.resolved().searches)
        if (sc.ref.component == "search.exhaustive") exhaustive.push_back(sc.ref.name);
    runs.predictor_check = check_predictors(problem, exhaustive, runs);
    mpi::stop_workers();
    base.t_finetune = evaluator.mean_finetune_seconds();
    base.finetune_in_loop = in_loop;

    // --- 4. results on every accelerator, into the run folder.
    write_outputs(ex, *folder, costs, RunSummary{&w, &base, &pr, metric_id}, runs);
    folder->set_status("complete");
    return folder->path();
}

}  // namespace hawx::pipeline
