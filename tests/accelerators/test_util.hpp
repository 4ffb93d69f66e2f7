#pragma once
// Test support: layer shapes of the zoo's LeNet-5 (32x32 input) and VGG-11 (CIFAR, 32x32), as the engine
// reports them (framework/zoo/src/models.cpp), and the paper's EvoApproxLib multipliers with
// the figures their C files declare (PDK45).
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <hawx/sdk/accelerator.hpp>
#include <hawx/sdk/params.hpp>

namespace hawx::test {

inline std::vector<LayerShape> lenet5() {
    return {{"conv1", "conv2d", 6, 25, 784},  // 1x5x5 kernel, 28x28 output
            {"conv2", "conv2d", 16, 150, 100},  // 6x5x5, 10x10
            {"fc1", "linear", 120, 400, 1},
            {"fc2", "linear", 84, 120, 1},
            {"fc3", "linear", 10, 84, 1}};
}

inline std::vector<LayerShape> vgg11() {
    return {{"features.0", "conv2d", 64, 27, 1024},    {"features.4", "conv2d", 128, 576, 256},
            {"features.8", "conv2d", 256, 1152, 64},   {"features.11", "conv2d", 256, 2304, 64},
            {"features.15", "conv2d", 512, 2304, 16},  {"features.18", "conv2d", 512, 4608, 16},
            {"features.22", "conv2d", 512, 4608, 4},   {"features.25", "conv2d", 512, 4608, 4},
            {"classifier.0", "linear", 512, 512, 1},   {"classifier.2", "linear", 512, 512, 1},
            {"classifier.4", "linear", 10, 512, 1}};
}

inline HardwareCost cost(double p, double a, double d) {
    HardwareCost c;
    c.power_mw = p;
    c.area_um2 = a;
    c.delay_ns = d;
    c.source = "EvoApproxLib PDK45 (C file header)";
    return c;
}

/// Short names as in the paper's Table II; KV6 is the exact mul8s_1KV6.
inline std::vector<std::string> paper_names() { return {"KV6", "KV8", "KV9", "KVP", "L2J", "L2N"}; }
inline std::vector<HardwareCost> paper_costs() {
    return {cost(0.425, 729.8, 1.48), cost(0.422, 711.0, 1.48), cost(0.410, 685.2, 1.47),
            cost(0.363, 635.0, 1.37), cost(0.301, 558.9, 1.36), cost(0.126, 284.9, 0.94)};
}
enum PaperBlock { KV6 = 0, KV8, KV9, KVP, L2J, L2N };

inline Configuration all_layers(std::size_t n, int b) {
    Configuration c;
    c.granularity = Granularity::Layer;
    c.blocks.assign(n, std::vector<int>{b});
    return c;
}

inline Params params(std::map<std::string, ParamValue> v) { return Params(std::move(v)); }

}  // namespace hawx::test

namespace hawx::test {

/// Constructs component T directly with its schema defaults plus `overrides` (what the core
/// does after validating a manifest).
template <class T>
T make(const std::map<std::string, ParamValue>& overrides = {}) {
    Params p;
    for (const auto& s : T::describe().params)
        if (s.default_value) p.set(s.name, *s.default_value);
    for (const auto& [k, v] : overrides) p.set(k, v);
    return T(p);
}

/// A scratch folder removed at scope exit.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() / ("hawx_acc_test_" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string str() const { return path.string(); }
};

inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace hawx::test
