#pragma once
/// \file
/// Running a zoo network through the approximate inference engine.
#include <cstddef>

#include "hawx/engine/engine.hpp"
#include "hawx/data/dataset.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/zoo/network.hpp"

namespace hawx::zoo {

/// Calibrates `engine` on the first `n` images of `data` (all when n is 0 or larger): sets it
/// as `net`'s runner, folds BatchNorm, runs float forward passes in Calibrate mode without
/// gradients, and leaves the engine in Quantized mode (set an assignment next).
/// Throws hawx::Error for an empty dataset or batch_size 0.
void calibrate(Network& net, engine::Engine& engine, const Dataset& data, const hawx::InputSpec& spec, std::size_t n,
               std::size_t batch_size = 256);

}  // namespace hawx::zoo
