#include "hawx/pipeline/finetune.hpp"

#include <torch/torch.h>

#include <chrono>

#include "hawx/sdk/error.hpp"
#include "hawx/zoo/quantized.hpp"

namespace hawx::pipeline {

const nlohmann::json* finetuned_ranges(const zoo::CheckpointMeta& meta) {
    const nlohmann::json& t = meta.training;
    if (!t.is_object() || !t.contains("finetune") || !t.at("finetune").is_object()) return nullptr;
    const nlohmann::json& f = t.at("finetune");
    return f.contains("ranges") && f.at("ranges").is_array() ? &f.at("ranges") : nullptr;
}

void use_ranges(zoo::Network& net, engine::Engine& engine, const nlohmann::json& ranges) {
    zoo::fold_batchnorm(net);
    net.eval();
    net.set_runner(&engine);
    engine.load_calibration(ranges);
    engine.set_mode(engine::Mode::Quantized);
}

zoo::TrainResult finetune(zoo::Network& net, engine::Engine& engine, const engine::ModelAssignment& assignment,
                          const FinetuneData& data, zoo::TrainOptions options,
                          const std::function<void(const zoo::EpochStats&, const zoo::EvalResult&)>& on_epoch) {
    if (!data.train || (data.calibrate && !data.calibration))
        throw Error("fine-tuning: no training or calibration images");
    // The approximate forward trains with the ranges of the starting weights, and keeps them.
    if (data.calibrate) zoo::calibrate(net, engine, *data.calibration, data.spec, data.calibration_n);
    engine.set_assignment(assignment);
    engine.set_mode(engine::Mode::Train);
    net.set_runner(&engine);
    options.folded = true;
    options.val_size = 0;
    const zoo::TrainResult r =
        zoo::train(net, *data.train, data.spec, options, [&](const zoo::EpochStats& st) {
            zoo::EvalResult v;
            if (data.val) v = zoo::evaluate(net, *data.val, data.spec, data.eval_batch, data.val_n);
            if (on_epoch) on_epoch(st, v);
        });
    engine.set_mode(engine::Mode::Quantized);
    return r;
}

Finetuner::Finetuner(zoo::Network& net, engine::Engine& engine, FinetuneData data, zoo::TrainOptions options,
                     std::size_t budget_bytes)
    : net_(net), engine_(engine), data_(data), options_(std::move(options)), budget_(budget_bytes) {
    if (!data_.val) throw Error("fine-tuning: no validation images to measure the fine-tuned accuracy on");
    zoo::check_train_options(options_);
    // Each run is judged by its last epoch's validation accuracy; nothing else reads a state.
    options_.state_path.clear();
    options_.progress = false;
    data_.calibrate = false;  // every configuration trains with the run's ranges
    start_ = take();
}

Finetuner::Snapshot Finetuner::take() const {
    Snapshot s;
    for (const auto& t : net_.parameters()) s.tensors.push_back(t.detach().clone());
    for (const auto& t : net_.buffers()) s.tensors.push_back(t.detach().clone());
    for (const auto& t : s.tensors) s.bytes += static_cast<std::size_t>(t.numel() * t.element_size());
    s.ranges = engine_.calibration_json();
    return s;
}

void Finetuner::put(const Snapshot& s) {
    torch::NoGradGuard no_grad;
    std::size_t i = 0;
    // copy_ bumps each tensor's version: the engine quantizes the weights again.
    for (auto& t : net_.parameters()) t.copy_(s.tensors.at(i++));
    for (auto& t : net_.buffers()) t.copy_(s.tensors.at(i++));
    engine_.load_calibration(s.ranges);
}

FinetuneOutcome Finetuner::run(const std::string& key, const engine::ModelAssignment& assignment, const Dataset* test,
                               std::size_t test_n) {
    auto done = done_.find(key);
    const bool measured = done != done_.end() && (!test || done->second.test_after.total > 0);
    if (measured) return done->second;
    const auto tuned = tuned_.find(key);
    if (done != done_.end() && tuned != tuned_.end()) {
        put(tuned->second);  // trained before: only the test accuracy is new
    } else {
        FinetuneOutcome o;
        const auto t0 = std::chrono::steady_clock::now();
        finetune(net_, engine_, assignment, data_, options_, [&](const zoo::EpochStats& st, const zoo::EvalResult& v) {
            zoo::EpochStats e = st;
            e.val = v;
            o.history.push_back(e);
        });
        o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        o.val_after = o.history.empty() ? 0.0 : o.history.back().val.accuracy;
        done = done_.insert_or_assign(key, o).first;
        Snapshot s = take();
        if (kept_ + s.bytes <= budget_) kept_ += s.bytes, tuned_.emplace(key, std::move(s));
    }
    engine_.set_mode(engine::Mode::Quantized);
    engine_.set_assignment(assignment);
    net_.set_runner(&engine_);
    if (test) done->second.test_after = zoo::evaluate(net_, *test, data_.spec, data_.eval_batch, test_n);
    put(start_);
    return done->second;
}

}  // namespace hawx::pipeline
