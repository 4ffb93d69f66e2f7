// hawx run on a manifest with a model: the whole HAWX method, steps 1-4, into one run folder.
#include "pipeline.hpp"

#include <ATen/Parallel.h>
#include <torch/nn/functional/loss.h>
#include <torch/utils.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "commands.hpp"
#include "distributed.hpp"
#include "model_data.hpp"
#include "profiling.hpp"
#include "report.hpp"
#include "training.hpp"
#include "hawx/engine/engine.hpp"
#include "hawx/engine/library.hpp"
#include "hawx/engine/prefix_cache.hpp"
#include "hawx/engine/scoring.hpp"
#include "hawx/framework/config_string.hpp"
#include "hawx/framework/accelergy.hpp"
#include "hawx/framework/io.hpp"
#include "hawx/framework/pareto.hpp"
#include "hawx/framework/search_driver.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/zoo/checkpoint.hpp"
#include "hawx/zoo/data.hpp"
#include "hawx/zoo/datasets.hpp"
#include "hawx/zoo/evaluate.hpp"
#include "hawx/zoo/progress.hpp"
#include "hawx/zoo/quantized.hpp"
#include "hawx/zoo/representatives.hpp"
#include "hawx/zoo/script_network.hpp"

namespace fs = std::filesystem;

namespace hawx::cli {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// FNV-1a, 64 bit: a stable hash of the resolved manifest (std::hash may differ between builds).
std::string fnv1a_hex(const std::string& s) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

// What identifies an experiment for resumption: the resolved manifest without the
// descriptive text, the output location and the manifest's own path.
std::string experiment_hash(const nlohmann::json& resolved) {
    nlohmann::json j = resolved;
    j.erase("description");
    j.erase("output");
    if (j.contains("resolved")) j["resolved"].erase("source");
    return fnv1a_hex(j.dump());
}

// A run folder to resume: the newest `<base>/<name>[-N]` whose state says unfinished and whose
// experiment hash matches; otherwise a new folder (never reusing a finished one).
std::string open_run_dir(const std::string& base, const std::string& name, const std::string& hash, bool fresh,
                         bool* resumed) {
    *resumed = false;
    if (!fresh && fs::is_directory(base)) {
        std::string best;
        fs::file_time_type best_time{};
        for (const auto& e : fs::directory_iterator(base)) {
            const std::string n = e.path().filename().string();
            if (!e.is_directory() || (n != name && n.rfind(name + "-", 0) != 0)) continue;
            const fs::path state = e.path() / "run.json";
            if (!fs::is_regular_file(state)) continue;
            nlohmann::json j;
            try {
                std::ifstream in(state);
                j = nlohmann::json::parse(in);
            } catch (const std::exception&) {
                continue;
            }
            if (j.value("status", "") != "running" || j.value("experiment", "") != hash) continue;
            const auto t = fs::last_write_time(state);
            if (best.empty() || t > best_time) best = e.path().string(), best_time = t;
        }
        if (!best.empty()) {
            *resumed = true;
            return best;
        }
    }
    return create_run_dir(base, name);
}

void write_state(const std::string& dir, const std::string& hash, const std::string& status) {
    write_file_atomic(dir + "/run.json", nlohmann::json{{"experiment", hash}, {"status", status}}.dump(1) + "\n");
}

std::string fmt(double v, int digits) {
    if (!std::isfinite(v)) return "-";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

// Shortest form that keeps 9 significant digits (scores can be tiny).
std::string gfmt(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
}

// Half-width of the 95% confidence interval of an accuracy (percent) measured on n images
// (normal approximation of the binomial).
double ci95(double accuracy_percent, std::size_t n) {
    if (n == 0) return std::numeric_limits<double>::quiet_NaN();
    const double p = accuracy_percent / 100.0;
    return 100.0 * 1.96 * std::sqrt(std::max(p * (1 - p), 0.0) / static_cast<double>(n));
}


// A block whose table is the exact product.
bool is_exact_multiplier(const ApproxBlock& b) {
    if (b.op() != BlockOp::Multiply) return false;
    const auto t = block_table(b);
    const int na = b.activation_bits(), nw = b.weight_bits();
    for (std::uint32_t a = 0; a < (1u << na); ++a)
        for (std::uint32_t w = 0; w < (1u << nw); ++w)
            if (t[(a << nw) | w] != code_to_value(a, na, b.is_signed()) * code_to_value(w, nw, b.is_signed()))
                return false;
    return true;
}

engine::ModelAssignment to_assignment(const Configuration& c) {
    engine::ModelAssignment a;
    for (const auto& units : c.blocks) {
        engine::LayerAssignment la;
        la.granularity = units.size() == 1 ? Granularity::Layer : c.granularity;
        la.units = units;
        a.layers.push_back(std::move(la));
    }
    return a;
}

// Records the shape of every approximable layer during one float forward pass.
class ShapeRecorder : public engine::LayerRunner {
public:
    at::Tensor forward(const engine::LayerDesc& d, const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) override {
        at::Tensor y = engine::float_forward(d, x, w, b);
        LayerShape s;
        s.name = d.name;
        s.type = d.linear ? "linear" : "conv2d";
        s.out_channels = d.out_channels;
        s.fan_in = d.fan_in();
        s.output_positions = y.dim() == 4 ? y.size(2) * y.size(3) : 1;
        s.groups = d.groups;
        if (shapes.size() < static_cast<std::size_t>(d.index)) shapes.resize(static_cast<std::size_t>(d.index));
        shapes[static_cast<std::size_t>(d.index - 1)] = s;
        return y;
    }
    std::vector<LayerShape> shapes;
};

std::vector<LayerShape> layer_shapes(zoo::Network& net, const at::Tensor& one_input) {
    ShapeRecorder rec;
    net.set_runner(&rec);
    {
        at::NoGradGuard ng;
        net.forward(one_input);
    }
    net.set_runner(nullptr);
    if (rec.shapes.size() != net.layer_descs().size())
        throw Error("model: a forward pass reached " + std::to_string(rec.shapes.size()) + " of " +
                    std::to_string(net.layer_descs().size()) + " approximable layers");
    return rec.shapes;
}

Configuration uniform_configuration(const std::vector<LayerShape>& layers, Granularity g, int block) {
    Configuration c;
    c.granularity = g;
    for (const auto& l : layers)
        c.blocks.emplace_back(static_cast<std::size_t>(unit_count(l, g)), block);
    return c;
}

struct Row {
    std::string strategy, config;
    double drop = 0, threshold = 0, val_acc = 0, test_acc = 0, test_ci = 0;
    bool found = false, test_meets = false;
    std::uint64_t evaluations = 0, cache_hits = 0;
    double wall = 0;
    nlohmann::json accel = nlohmann::json::array();
};

// table2.csv: one line per search answer and accelerator.
std::string table2_csv(const std::vector<Row>& rows) {
    std::string csv = "strategy,max_drop,threshold,configuration,evaluations,validation_accuracy,test_accuracy,test_ci95,"
                      "test_meets_threshold,accelerator,power_mw,area_um2,power_norm,area_norm\n";
    for (const auto& r : rows) {
        const std::size_t n_acc = std::max<std::size_t>(1, r.accel.size());
        for (std::size_t a = 0; a < n_acc; ++a) {
            const nlohmann::json aj = a < r.accel.size() ? r.accel[a] : nlohmann::json::object();
            const double pn = aj.contains("power_norm") ? aj["power_norm"].get<double>() : std::nan("");
            const double an = aj.contains("area_norm") ? aj["area_norm"].get<double>() : std::nan("");
            const std::string aname = aj.value("accelerator", std::string("-"));
            csv += csv_field(r.strategy) + "," + fmt(r.drop, 2) + "," + fmt(r.threshold, 4) + "," + csv_field(r.config) +
                   "," + std::to_string(r.evaluations) + "," + fmt(r.val_acc, 4) + "," + fmt(r.test_acc, 4) + "," +
                   fmt(r.test_ci, 4) + "," + (r.test_meets ? "true" : "false") + "," + csv_field(aname) + "," +
                   fmt(aj.value("power_mw", std::nan("")), 6) + "," + fmt(aj.value("area_um2", std::nan("")), 6) + "," +
                   fmt(pn, 6) + "," + fmt(an, 6) + "\n";
        }
    }
    return csv;
}

// What costing an answer needs: the accelerators (Algorithm 1 when none), and the all-exact
// design to normalize by when the blocks include an exact one.
struct Costing {
    const SearchProblem& problem;
    const std::vector<std::string>& names;
    const std::vector<HardwareCost>& costs;
    const std::vector<std::pair<std::string, std::shared_ptr<AcceleratorModel>>>& accelerators;
    int exact_block;
    const Configuration& all_exact;
};

// Every accelerator's report of a configuration, power and area normalized to all-exact.
nlohmann::json accelerator_reports(const Costing& k, const Configuration& best) {
    nlohmann::json out = nlohmann::json::array();
    const auto& names = k.names;
    for (const auto& [aname, accel] : k.accelerators) {
        const AcceleratorReport r = accel->evaluate(k.problem.layers, best, names, k.costs);
        nlohmann::json aj = {{"accelerator", aname},
                             {"realized", format_configuration(r.realized, names)},
                             {"changes", r.changes},
                             {"power_mw", r.power_mw},
                             {"area_um2", r.area_um2},
                             {"latency_cycles", r.latency_cycles},
                             {"energy_nj", r.energy_nj},
                             {"utilization", r.utilization}};
        if (k.exact_block >= 0) {
            const AcceleratorReport e = accel->evaluate(k.problem.layers, k.all_exact, names, k.costs);
            aj["power_norm"] = e.power_mw > 0 ? r.power_mw / e.power_mw : std::nan("");
            aj["area_norm"] = e.area_um2 > 0 ? r.area_um2 / e.area_um2 : std::nan("");
        }
        out.push_back(aj);
    }
    if (k.accelerators.empty()) {
        const Outcome o = configuration_cost(k.problem, best);
        nlohmann::json aj = {{"accelerator", "algorithm1"}, {"power_mw", *o.power_mw}, {"area_um2", *o.area_um2}};
        if (k.exact_block >= 0) {
            const Outcome e = configuration_cost(k.problem, k.all_exact);
            aj["power_norm"] = *o.power_mw / *e.power_mw;
            aj["area_norm"] = *o.area_um2 / *e.area_um2;
        }
        out.push_back(aj);
    }
    return out;
}

// Pareto sets of every evaluated configuration (validation accuracy) and the points
// themselves, per accelerator (pareto_<name>.json/.csv, evaluated_<name>.csv); power and area
// normalized to the all-exact design when the blocks include an exact one.
void write_pareto_sets(const std::string& dir, const Costing& k,
                       const std::vector<std::pair<std::string, EvaluationRecord>>& evaluated_points) {
    const auto& problem = k.problem;
    const auto& names = k.names;
    const auto& costs = k.costs;
    const int exact_block = k.exact_block;
    const Configuration& all_exact = k.all_exact;
    std::vector<std::pair<std::string, std::shared_ptr<AcceleratorModel>>> models = k.accelerators;
    if (models.empty()) models.emplace_back("algorithm1", nullptr);
    for (const auto& [aname, accel] : models) {
        const auto cost = [&](const Configuration& c) {
            if (!accel) return configuration_cost(problem, c);
            const AcceleratorReport r = accel->evaluate(problem.layers, c, names, costs);
            Outcome o;
            o.power_mw = r.power_mw;
            o.area_um2 = r.area_um2;
            return o;
        };
        double p0 = 1, a0 = 1;
        if (exact_block >= 0) {
            const Outcome e = cost(all_exact);
            p0 = *e.power_mw, a0 = *e.area_um2;
        }
        ParetoSet front;
        std::set<std::string> seen;
        std::string all = "accuracy,power,area,configuration,strategy\n";
        for (const auto& [strategy, e] : evaluated_points) {
            if (!seen.insert(e.key).second) continue;
            const Outcome o = cost(e.configuration);
            ParetoPoint pt;
            pt.accuracy = e.outcome.accuracy;
            pt.power = *o.power_mw / p0;
            pt.area = *o.area_um2 / a0;
            pt.configuration = e.key;
            pt.extra = {{"strategy", strategy}};
            all += gfmt(pt.accuracy) + "," + gfmt(pt.power) + "," + gfmt(pt.area) + "," + csv_field(pt.configuration) + "," +
                   csv_field(strategy) + "\n";
            front.add(std::move(pt));
        }
        write_file_atomic(dir + "/evaluated_" + aname + ".csv", all);
        front.write_json(dir + "/pareto_" + aname + ".json");
        front.write_csv(dir + "/pareto_" + aname + ".csv");
    }
}

}  // namespace

std::string run_pipeline(const ResolvedManifest& resolved, PluginManager& plugins, const PipelineOptions& options) {
    const Manifest& m = resolved.manifest;
    const ExperimentSpec& ex = m.experiment;
    const ModelSpec& ms = *ex.model;
    const std::string file = m.path.empty() ? std::string("<manifest>") : m.path;
    const Instances inst = instantiate(resolved, plugins);
    if (inst.blocks.empty()) throw Error(file + ": 'blocks' is empty: an experiment needs at least one multiplier");

    // --- blocks: the engine's library; the search chooses among the manifest's multipliers.
    const engine::NamedLibrary lib = engine::compile_library(inst.blocks);
    for (const auto& s : lib.skipped) std::cout << "note: block " << s << " (not used by the search)\n";
    std::vector<std::string> names;
    std::vector<HardwareCost> costs;
    int exact_block = -1;
    for (const auto& [name, block] : inst.blocks) {
        if (std::find(lib.names.begin(), lib.names.end(), name) == lib.names.end()) continue;
        if (exact_block < 0 && is_exact_multiplier(*block)) exact_block = static_cast<int>(names.size());
        names.push_back(name);
        costs.push_back(block->cost());
    }
    if (names.empty()) throw Error(file + ": no block the engine can emulate (8x8 multipliers) in 'blocks'");
    const bool is_signed = lib.blocks[0]->is_signed;
    for (std::size_t b = 0; b < names.size(); ++b)
        if (lib.blocks[b]->is_signed != is_signed)
            throw Error(file + ": blocks " + names[0] + " and " + names[b] +
                        " differ in signedness; one experiment quantizes one way");
    for (std::size_t b = 0; b < names.size(); ++b)
        if (costs[b].power_mw <= 0 || costs[b].area_um2 <= 0)
            throw Error(file + ": block " + names[b] + " declares no power/area (" + costs[b].source +
                        "); a search would take it for free: set its power_mw and area_um2");
    const int exact_index = lib.index(is_signed ? "exact" : "exact-u");

    zoo::check_dataset_name(ex.dataset.name);
    if (!ms.arch.empty()) {
        const auto models = zoo::model_names();
        if (std::find(models.begin(), models.end(), ms.arch) == models.end())
            throw Error(file + ": model.arch: unknown model '" + ms.arch + "' (models: lenet5, vgg11, resnet18, efficientnet_lite0)");
    }
    const bool lead = mpi::world().rank == 0;
    // --- model: the cached checkpoint, trained first (by rank 0) when absent.
    if (lead && !fs::exists(ms.checkpoint)) {
        if (ms.arch.empty())
            throw Error(file + ": model: checkpoint " + ms.checkpoint + " not found (give model.arch to train it)");
        std::cout << "\n== training " << ms.arch << " (no checkpoint at " << ms.checkpoint << ")\n";
        fs::create_directories(fs::path(ms.checkpoint).parent_path());
        TrainRequest req;
        req.model = ms.arch;
        req.dataset = ex.dataset.name;
        req.data_dir = ex.dataset.dir;
        req.width = ms.width;
        req.input_size = ms.input_size;
        req.options = train_options_from(ms.arch, ex.training, m.seed);
        if (ex.dataset.validation >= 0) req.val_size = static_cast<std::size_t>(ex.dataset.validation);
        req.val_size_name = file + ": dataset.validation";
        req.out = ms.checkpoint;
        train_checkpoint(req);
    }
    mpi::barrier();
    ModelAndData md = load_model_and_data(ms.checkpoint, ex.dataset.name, ex.dataset.dir, ms.input_mean, ms.input_std);
    if (!ms.arch.empty() && md.meta.model != ms.arch)
        throw Error(ms.checkpoint + ": holds model " + md.meta.model + ", but the manifest's model.arch is " + ms.arch);
    zoo::Network& net = *md.net;
    const zoo::InputSpec& spec = *md.meta.input;
    // Selection on a validation split held out from training; the test set only reports.
    const std::size_t held_out = md.data.train.size() - md.train.size();
    std::size_t n_val = held_out;
    if (ex.dataset.validation >= 0) {
        n_val = static_cast<std::size_t>(ex.dataset.validation);
        if (held_out > 0 && n_val > held_out)
            throw Error(file + ": dataset.validation " + std::to_string(n_val) + " exceeds the " +
                        std::to_string(held_out) + " images " + ms.checkpoint + " held out from training");
    } else if (held_out == 0) {
        n_val = std::min<std::size_t>(5000, md.data.train.size() / 10);
    }
    if (n_val == 0 || n_val >= md.data.train.size())
        throw Error(file + ": dataset.validation must be in [1, " + std::to_string(md.data.train.size() - 1) + "]");
    Dataset train_part = held_out > 0 ? md.train : zoo::head(md.data.train, md.data.train.size() - n_val);
    auto split = zoo::split_train_val(md.data.train, n_val);
    Dataset& val = split.second;
    const std::size_t val_n = ex.dataset.validation_limit ? std::min(ex.dataset.validation_limit, val.size()) : val.size();
    const std::size_t test_n =
        ex.dataset.test_limit ? std::min(ex.dataset.test_limit, md.data.test.size()) : md.data.test.size();
    const Dataset profile_set = zoo::head(train_part, ex.profile_images);
    if (static_cast<std::size_t>(ex.representatives) > profile_set.size())
        throw Error(file + ": profiling.representatives " + std::to_string(ex.representatives) +
                    " is larger than the profiling set (" + std::to_string(profile_set.size()) + " images)");

    // Layer shapes (one float forward of one image), so that the accelerator models can refuse
    // a network they cannot host before anything is written.
    zoo::fold_batchnorm(net);
    net.eval();
    const std::vector<LayerShape> shapes = layer_shapes(net, zoo::to_input(val, 0, 1, spec));
    const Granularity g = ex.granularity == "filter" ? Granularity::Filter : Granularity::Layer;
    for (std::size_t a = 0; a < inst.accelerators.size(); ++a) {
        try {
            inst.accelerators[a].second->evaluate(shapes, uniform_configuration(shapes, g, 0), names, costs);
        } catch (const std::exception& e) {
            throw Error(file + ": " + resolved.accelerators[a].ref.where + ": cannot host " + md.meta.model + ": " +
                        e.what());
        }
    }

    // --- run folder (resumed when the same experiment was interrupted). Under mpirun, rank 0
    // owns every file and the strategies; the other ranks only evaluate.
    const nlohmann::json rj = resolved.to_json();
    const std::string hash = experiment_hash(rj);
    bool resumed = false;
    std::string dir;
    if (lead) {
        dir = open_run_dir(m.output_dir, m.name, hash, options.fresh, &resumed);
        std::cout << (resumed ? "resuming run folder: " : "run folder: ") << dir << "\n";
        if (mpi::world().size > 1) std::cout << "MPI: " << mpi::world().size << " ranks evaluate\n";
        write_state(dir, hash, "running");
        write_file_atomic(dir + "/manifest.resolved.json", rj.dump(2) + "\n");
        fs::create_directories(dir + "/search");
    }

    engine::EngineOptions eo;
    eo.threads = ex.threads;
    eo.calibration = ex.calibration == "minmax" ? engine::CalibrationMethod::MinMax : engine::CalibrationMethod::Percentile;
    eo.percentile = ex.percentile;
    engine::Engine eng(lib.blocks, eo);
    at::set_num_threads(eng.options().threads);
    const auto descs = net.layer_descs();
    const std::size_t L = descs.size();
    std::cout << "\nmodel: " << md.meta.model << " (" << md.meta.options.to_string() << "), " << L
              << " approximable layers; data: " << md.data.test.name << ", " << train_part.size() << " train / " << val_n
              << " validation / " << test_n << " test images\n";

    const auto eval_on = [&](const Dataset& d, std::size_t n) {
        return zoo::evaluate(net, d, spec, ex.batch_size, n);
    };

    // --- 1. representatives (float network), calibration, baselines.
    auto t0 = std::chrono::steady_clock::now();
    zoo::fold_batchnorm(net);
    net.eval();
    net.set_runner(nullptr);
    // Zoo networks never modify a layer's output in place, so cached outputs need no copies.
    engine::PrefixCachingRunner prefix_cache(eng, std::size_t{1} << 30, zoo::is_torchscript_file(ms.checkpoint));
    const std::string val_tag = "validation/" + std::to_string(val_n) + "/" + std::to_string(ex.batch_size);
    // Validation accuracy of one configuration; layer outputs are cached by configuration
    // prefix, so configurations in lexicographic order (as the exhaustive strategy asks)
    // compute each layer once per distinct prefix.
    const mpi::LocalEvaluator local_accuracy = [&](const Configuration& c) {
        net.set_runner(&prefix_cache);
        prefix_cache.begin(to_assignment(c), val_tag);
        const zoo::EvalResult r = eval_on(val, val_n);
        net.set_runner(&eng);
        return r.accuracy;
    };
    if (!lead) {
        zoo::calibrate(net, eng, train_part, spec, ex.calibration_images);
        mpi::serve(local_accuracy);
        return std::string();
    }
    const zoo::EvalResult float_val = eval_on(val, val_n), float_test = eval_on(md.data.test, test_n);
    std::string metric_id;
    const std::shared_ptr<SensitivityMetric> metric = choose_metric("", resolved, inst, plugins, &metric_id);
    ProfileRequest q;
    q.profile_set = &profile_set;
    q.calibration_set = &train_part;
    q.calibration_images = ex.calibration_images;
    q.k = ex.representatives;
    q.seed = m.seed;
    q.metric = metric.get();
    q.metric_id = metric_id;
    q.exact_index = exact_index;
    q.per_position = false;  // the search works at layer or filter level
    q.distribution.seed = m.seed;
    ProfileRun pr = profile_and_score(net, eng, lib, spec, q);
    const engine::ScoreTable& scores = pr.report.scores;
    const double t_rep = pr.t_rep, t_prof = pr.t_prof, t_score = pr.t_score;
    pr.report.header["checkpoint"] = ms.checkpoint;
    pr.report.header["model"] = md.meta.model;
    write_file_atomic(dir + "/representatives.json", pr.reps.to_json().dump(1) + "\n");
    eng.set_assignment(engine::ModelAssignment::uniform(exact_index, L));
    t0 = std::chrono::steady_clock::now();
    const zoo::EvalResult exact_val = eval_on(val, val_n);
    const double t_eval = seconds_since(t0);
    const zoo::EvalResult exact_test = eval_on(md.data.test, test_n);
    std::printf("\n%-12s %12s %12s\n%-12s %11.2f%% %11.2f%%\n%-12s %11.2f%% %11.2f%%\n", "baseline", "validation", "test",
                "float", float_val.accuracy, float_test.accuracy, is_signed ? "int8-exact" : "uint8-exact",
                exact_val.accuracy, exact_test.accuracy);
    std::printf("profile: %zu representatives (%.2f s), %s scores (t_prof %.3f s, t_score %.3f s)\n", pr.reps.ids.size(),
                t_rep, metric_id.c_str(), t_prof, t_score);
    std::fflush(stdout);

    // --- 3. the search problem.
    SearchProblem problem;
    problem.layers = shapes;
    problem.block_names = names;
    problem.block_costs = costs;
    problem.granularity = g;
    problem.baseline_accuracy = exact_val.accuracy;
    problem.seed = m.seed;
    problem.max_evaluations = ex.max_evaluations;
    problem.eval_seconds = t_eval;
    problem.exact_block = exact_block;
    for (std::size_t l = 0; l < L; ++l) {
        const std::size_t U = static_cast<std::size_t>(unit_count(problem.layers[l], g));
        std::vector<std::vector<double>> mean(U, std::vector<double>(names.size())), sum = mean;
        for (std::size_t b = 0; b < names.size(); ++b) {
            const auto& s = scores.s[l][b];
            for (std::size_t u = 0; u < U; ++u) {
                mean[u][b] = g == Granularity::Layer ? s.layer_mean : s.filter_mean[u];
                sum[u][b] = g == Granularity::Layer ? s.layer_sum : s.filter_sum[u];
            }
        }
        problem.scores.push_back(std::move(mean));
        problem.score_sums.push_back(std::move(sum));
    }
    const std::shared_ptr<AcceleratorModel> cost_model =
        inst.accelerators.empty() ? nullptr : inst.accelerators.front().second;
    const std::string cost_model_name =
        inst.accelerators.empty() ? "" : "accelerator '" + inst.accelerators.front().first + "' (" +
                                             resolved.accelerators.front().ref.component + ")";
    // exploration.on_error = skip: configurations whose cost fails count as failing the
    // threshold (accuracy 0) at the all-exact design's cost; each is printed once and counted.
    std::set<std::string> failed;
    const auto raw_cost = [&, cost_model](const Configuration& c) {
        // A plugin that throws or returns a non-finite cost is reported by name.
        AcceleratorReport r;
        try {
            r = cost_model->evaluate(problem.layers, c, names, costs);
        } catch (const std::exception& e) {
            throw Error(cost_model_name + " failed on " + format_configuration(c, names) + ": " + e.what());
        }
        if (!std::isfinite(r.power_mw) || !std::isfinite(r.area_um2))
            throw Error(cost_model_name + " returned a non-finite power or area for " + format_configuration(c, names));
        Outcome o;
        o.accuracy = std::numeric_limits<double>::quiet_NaN();
        o.power_mw = r.power_mw;
        o.area_um2 = r.area_um2;
        o.latency_cycles = r.latency_cycles;
        return o;
    };
    if (cost_model)
        problem.estimate_cost = [&, raw_cost](const Configuration& c) {
            try {
                return raw_cost(c);
            } catch (const Error& e) {
                if (ex.on_error != "skip") throw;
                if (failed.insert(format_configuration(c, names)).second) std::printf("skipped: %s\n", e.what());
                return raw_cost(uniform_configuration(problem.layers, g, exact_block >= 0 ? exact_block : 0));
            }
        };
    const auto cost_of = [&](const Configuration& c) {
        return problem.estimate_cost ? problem.estimate_cost(c) : configuration_cost(problem, c);
    };

    // The search's evaluator: validation accuracy (spread over the MPI ranks when there are
    // several) and the accelerator's cost.
    // Accuracies are memoized by configuration across the searches of this run (strategies
    // and thresholds share many configurations; an exhaustive sweep shares all of them).
    std::map<std::string, double> memo;
    // A resumed run starts with every accuracy its logs hold (all strategies and thresholds),
    // so that nothing evaluated before the interruption is evaluated again. Failed (skipped)
    // configurations are logged with accuracy 0 and stay failing.
    for (const auto& entry : fs::directory_iterator(dir + "/search")) {
        const std::string path = entry.path().string();
        if (entry.path().extension() != ".jsonl") continue;
        const SearchLog log = read_search_log(path);
        // a log killed while its header was written has none (its search starts over)
        if (!log.header.is_object() || !log.header.contains("context") || !log.header.at("context").is_object() ||
            log.header.at("context").value("experiment", std::string()) != hash)
            continue;
        for (const auto& e : log.evaluations) memo.emplace(e.configuration, e.outcome.accuracy);
    }
    if (!memo.empty()) std::printf("resumed: %zu accuracies read back from the search logs, not evaluated again\n", memo.size());
    const BatchEvaluator evaluator = [&](const std::vector<Configuration>& batch) {
        std::vector<Configuration> todo;
        for (const auto& c : batch)
            if (!memo.count(format_configuration(c, names))) todo.push_back(c);
        std::vector<double> fresh;
        if (mpi::world().size > 1) {
            fresh = mpi::distribute(todo, local_accuracy);
        } else {
            zoo::ProgressBar bar(todo.size(), "evaluations", todo.size() > 1 && zoo::ProgressBar::stderr_is_terminal());
            for (const auto& c : todo) {
                fresh.push_back(local_accuracy(c));
                bar.step(1, fmt(fresh.back(), 2) + "%");
            }
            bar.finish();
        }
        for (std::size_t i = 0; i < todo.size(); ++i) memo[format_configuration(todo[i], names)] = fresh[i];
        std::vector<double> acc;
        for (const auto& c : batch) acc.push_back(memo.at(format_configuration(c, names)));
        std::vector<Outcome> out;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const std::string key = format_configuration(batch[i], names);
            if (!std::isfinite(acc[i])) {
                const std::string what = "evaluation of " + key + " gave a non-finite accuracy";
                if (ex.on_error != "skip") throw Error(what);
                if (failed.insert(key).second) std::printf("skipped: %s\n", what.c_str());
            }
            Outcome o = cost_of(batch[i]);
            o.accuracy = failed.count(key) ? 0.0 : acc[i];
            out.push_back(o);
        }
        return out;
    };

    // Costs of the all-exact design, for normalization.
    const Configuration all_exact =
        exact_block >= 0 ? uniform_configuration(problem.layers, g, exact_block) : Configuration{};
    const Costing costing{problem, names, costs, inst.accelerators, exact_block, all_exact};

    // hawx(model) against the accuracy of every block used in every layer (the paper's Fig. 4).
    {
        std::vector<Configuration> uniform;
        for (std::size_t b = 0; b < names.size(); ++b)
            uniform.push_back(uniform_configuration(problem.layers, g, static_cast<int>(b)));
        std::printf("\n== each block in every layer (hawx(model) vs validation accuracy)\n");
        const std::vector<Outcome> acc = evaluator(uniform);
        std::string csv = "block,hawx_model_mean,hawx_model_sum,validation_accuracy,power_mw,area_um2\n";
        std::vector<double> xs, ys;
        for (std::size_t b = 0; b < names.size(); ++b) {
            std::printf("%-10s %s(model) %12.5g   accuracy %6.2f%%\n", names[b].c_str(), metric_id.c_str(), scores.model_mean[b],
                        acc[b].accuracy);
            csv += csv_field(names[b]) + "," + gfmt(scores.model_mean[b]) + "," + gfmt(scores.model_sum[b]) + "," +
                   fmt(acc[b].accuracy, 4) + "," + fmt(acc[b].power_mw.value_or(std::nan("")), 6) + "," +
                   fmt(acc[b].area_um2.value_or(std::nan("")), 6) + "\n";
            if (std::isfinite(scores.model_mean[b])) xs.push_back(scores.model_mean[b]), ys.push_back(acc[b].accuracy);
        }
        pr.report.accuracy.assign(lib.names.size(), std::nan(""));
        for (std::size_t b = 0; b < names.size(); ++b) pr.report.accuracy[b] = acc[b].accuracy;
        if (xs.size() >= 2) {
            pr.report.spearman = spearman(xs, ys);
            std::printf("Spearman rho(%s(model), validation accuracy) = %.3f over %zu blocks\n", metric_id.c_str(),
                        *pr.report.spearman, xs.size());
        }
        write_file_atomic(dir + "/model_scores.csv", csv);
        write_score_outputs(dir, pr.report);
        std::fflush(stdout);
    }

    std::vector<Row> rows;
    std::vector<std::pair<std::string, EvaluationRecord>> evaluated_points;
    nlohmann::json searches = nlohmann::json::array();

    for (std::size_t si = 0; si < resolved.searches.size(); ++si) {
        const ResolvedComponent& sc = resolved.searches[si];
        for (double drop : ex.max_drop) {
            Row row;
            row.strategy = sc.ref.name;
            row.drop = drop;
            row.threshold = exact_val.accuracy - drop;
            std::printf("\n== search %s (%s), threshold %.2f%% (int8-exact %.2f%% - %.2f points, validation)\n",
                        sc.ref.name.c_str(), sc.ref.component.c_str(), row.threshold, exact_val.accuracy, drop);
            std::fflush(stdout);
            SearchProblem p = problem;
            p.accuracy_threshold = row.threshold;
            p.strategy_name = sc.ref.component;
            const std::shared_ptr<SearchStrategy> strategy =
                plugins.create<SearchStrategy>(*sc.entry, sc.params, file + ": " + sc.ref.where);
            SearchLogOptions lo;
            char tag[64];
            std::snprintf(tag, sizeof tag, "%s_drop%.2f", sc.ref.name.c_str(), drop);
            lo.path = dir + "/search/" + tag + ".jsonl";
            lo.strategy_name = sc.ref.component;
            lo.strategy_params = to_json(sc.params);
            lo.context = {{"experiment", hash}, {"checkpoint", ms.checkpoint}};
            SearchResult res;
            try {
                res = run_search(*strategy, p, evaluator, lo);
            } catch (const std::exception& e) {
                throw Error("search '" + sc.ref.name + "' (" + sc.ref.component + ") at max_drop " + fmt(drop, 2) +
                            " stopped: " + e.what());
            }
            for (const auto& e : res.evaluations) evaluated_points.emplace_back(sc.ref.name, e);
            row.evaluations = res.full_evaluations;
            row.cache_hits = res.cache_hits;
            row.wall = res.wall_seconds;
            nlohmann::json sj = {{"strategy", sc.ref.name},        {"component", sc.ref.component},
                                 {"max_drop", drop},               {"threshold", row.threshold},
                                 {"evaluations", res.full_evaluations}, {"cache_hits", res.cache_hits},
                                 {"wall_s", res.wall_seconds},     {"log", lo.path}};
            if (res.best) {
                row.found = true;
                const Configuration& best = *res.best;
                row.config = format_configuration(best, names);
                row.val_acc = res.best_outcome ? res.best_outcome->accuracy : std::nan("");
                eng.set_assignment(to_assignment(best));
                const zoo::EvalResult t = eval_on(md.data.test, test_n);
                row.test_acc = t.accuracy;
                row.test_ci = ci95(t.accuracy, t.total);
                row.test_meets = t.accuracy >= exact_test.accuracy - drop;
                row.accel = accelerator_reports(costing, best);
                sj["best"] = {{"configuration", row.config},
                              {"validation_accuracy", row.val_acc},
                              {"test_accuracy", row.test_acc},
                              {"test_ci95", row.test_ci},
                              {"test_meets_threshold", row.test_meets},
                              {"accelerators", row.accel}};
            } else {
                sj["best"] = nullptr;
            }
            sj["accounting"] = exhaustive_accounting(p, res.wall_seconds);
            sj["accounting"]["t_prof_s"] = t_prof;
            sj["accounting"]["t_score_s"] = t_score;
            sj["accounting"]["t_representatives_s"] = t_rep;
            write_file_atomic(dir + "/search/" + tag + ".result.json", to_json(res, p).dump(1) + "\n");
            searches.push_back(sj);
            rows.push_back(row);
        }
    }

    mpi::stop_workers();

    // --- 4. results.
    nlohmann::json results = {
        {"model", md.meta.model},
        {"checkpoint", ms.checkpoint},
        {"blocks", names},
        {"granularity", to_string(g)},
        {"baseline",
         {{"float", {{"validation", float_val.accuracy}, {"test", float_test.accuracy}}},
          {"exact", {{"validation", exact_val.accuracy}, {"test", exact_test.accuracy}}},
          {"validation_images", val_n},
          {"test_images", test_n}}},
        {"representatives", pr.reps.ids},
        {"metric", metric_id},
        {"skipped_configurations", failed.size()},
        {"scores", {{"model_mean", scores.model_mean}, {"model_sum", scores.model_sum}}},
        {"timing", {{"t_eval_s", t_eval}, {"t_prof_s", t_prof}, {"t_score_s", t_score}, {"t_representatives_s", t_rep}}},
        {"searches", searches}};
    write_pareto_sets(dir, costing, evaluated_points);
    // Per-block cost rows for Timeloop/Accelergy (blocks without a positive delay are skipped).
    {
        std::vector<AccelergyRow> arows;
        for (std::size_t b = 0; b < names.size(); ++b)
            if (costs[b].delay_ns > 0) arows.push_back(accelergy_row(names[b], costs[b]));
        write_file_atomic(dir + "/accelergy_blocks.csv", accelergy_table(arows));
    }
    write_file_atomic(dir + "/results.json", results.dump(1) + "\n");
    write_file_atomic(dir + "/table2.csv", table2_csv(rows));
    write_state(dir, hash, "complete");
    std::cout << "\n";
    print_report(dir, std::cout);
    try {
        const std::vector<std::string> plots = render_plots(dir, std::cout);
        if (!plots.empty()) std::cout << "plots: " << dir << "/plots (" << plots.size() << " files)\n";
    } catch (const Error& e) {
        std::cout << "notice: plots not rendered: " << e.what() << "\n";
    }
    std::cout << "\nrun folder: " << dir << " (results.json, table2.csv, scores.json, search/*.jsonl; "
              << "hawx report " << dir << " re-prints and re-renders)\n";
    return dir;
}

}  // namespace hawx::cli
