#include "hawx/zoo/quantized.hpp"

#include <torch/torch.h>

#include <algorithm>

#include "hawx/sdk/error.hpp"

namespace hawx::zoo {

void calibrate(Network& net, engine::Engine& engine, const Dataset& data, const hawx::InputSpec& spec, std::size_t n,
               std::size_t batch_size) {
    if (data.size() == 0) throw Error("calibration set " + data.name + " is empty");
    if (batch_size == 0) throw Error("calibration: batch size must be >= 1");
    const std::size_t total = n == 0 ? data.size() : std::min(n, data.size());
    fold_batchnorm(net);  // the engine must see the weights inference uses
    net.eval();
    net.set_runner(&engine);
    torch::NoGradGuard no_grad;
    engine.begin_calibration();
    for (std::size_t b = 0; b < total; b += batch_size) net.forward(hawx::to_input(data, b, std::min(total, b + batch_size), spec));
    engine.finish_calibration();
}

}  // namespace hawx::zoo
