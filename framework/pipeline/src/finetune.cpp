#include "hawx/pipeline/finetune.hpp"

#include "hawx/sdk/error.hpp"
#include "hawx/zoo/quantized.hpp"

namespace hawx::pipeline {

zoo::TrainResult finetune(zoo::Network& net, engine::Engine& engine, const engine::ModelAssignment& assignment,
                          const FinetuneData& data, zoo::TrainOptions options,
                          const std::function<void(const zoo::EpochStats&, const zoo::EvalResult&)>& on_epoch) {
    if (!data.train || !data.calibration) throw Error("fine-tuning: no training or calibration images");
    // The approximate forward trains with the ranges of the starting weights, and keeps them.
    zoo::calibrate(net, engine, *data.calibration, data.spec, data.calibration_n);
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

}  // namespace hawx::pipeline
