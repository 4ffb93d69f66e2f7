#include "hawx/zoo/evaluate.hpp"

#include <algorithm>

#include "hawx/sdk/error.hpp"

namespace hawx::zoo {

namespace {

// Restores a module's training flag on scope exit.
class TrainingModeGuard {
public:
    explicit TrainingModeGuard(torch::nn::Module& m) : module_(m), was_training_(m.is_training()) {}
    ~TrainingModeGuard() { module_.train(was_training_); }
    TrainingModeGuard(const TrainingModeGuard&) = delete;
    TrainingModeGuard& operator=(const TrainingModeGuard&) = delete;

private:
    torch::nn::Module& module_;
    bool was_training_;
};

}  // namespace

EvalResult evaluate(Network& net, const Dataset& data, const hawx::InputSpec& spec, std::size_t batch_size,
                    std::size_t limit) {
    if (batch_size == 0) throw Error("evaluate: batch size must be >= 1");
    const std::size_t n = limit == 0 ? data.size() : std::min(limit, data.size());
    if (n == 0) throw Error("evaluate: dataset '" + data.name + "' has no images");
    const auto classes = net.model_options().num_classes;
    for (std::size_t i = 0; i < n; ++i)
        if (data.labels[i] < 0 || data.labels[i] >= classes)
            throw Error("dataset '" + data.name + "': label " + std::to_string(data.labels[i]) + " of image " +
                        std::to_string(i) + " is outside the " + std::to_string(classes) + " classes of " +
                        net.model_name());

    TrainingModeGuard mode(net);
    net.eval();
    torch::NoGradGuard no_grad;
    EvalResult r;
    r.per_image.reserve(n);
    double loss_sum = 0.0;
    for (std::size_t begin = 0; begin < n; begin += batch_size) {
        const std::size_t end = std::min(n, begin + batch_size);
        const at::Tensor x = hawx::to_input(data, begin, end, spec);
        const at::Tensor y = hawx::to_labels(data, begin, end);
        const at::Tensor logits = net.forward(x);
        loss_sum += at::cross_entropy_loss(logits, y, {}, at::Reduction::Sum).item<double>();
        const at::Tensor right = logits.argmax(1).eq(y).to(at::kByte).contiguous();
        r.correct += static_cast<std::size_t>(right.sum().item<std::int64_t>());
        const auto* flags = right.data_ptr<std::uint8_t>();
        r.per_image.insert(r.per_image.end(), flags, flags + (end - begin));
    }
    r.total = n;
    r.accuracy = 100.0 * static_cast<double>(r.correct) / static_cast<double>(n);
    r.loss = loss_sum / static_cast<double>(n);
    return r;
}

}  // namespace hawx::zoo
