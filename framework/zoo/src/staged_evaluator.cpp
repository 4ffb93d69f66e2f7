#include "hawx/zoo/staged_evaluator.hpp"
#include "hawx/framework/text.hpp"

#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "hawx/sdk/error.hpp"

namespace hawx::zoo {

namespace {
// Images per stage call: as many as keep the stage's output near this size (a few calls
// instead of one per batch when only small late stages run), never fewer than a batch.
constexpr std::size_t kChunkBytes = std::size_t{4} << 20;
}  // namespace

StagedEvaluator::StagedEvaluator(Network& net, engine::Engine& engine, const Dataset& data, std::size_t count,
                                 const InputSpec& spec, std::size_t batch_size, std::size_t budget_bytes)
    : net_(net), engine_(engine), batch_(batch_size), classes_(net.model_options().num_classes) {
    if (batch_size == 0) throw Error("evaluate: batch size must be >= 1");
    images_ = count == 0 ? data.size() : std::min(count, data.size());
    if (images_ == 0) throw Error("evaluate: dataset '" + data.name + "' has no images");
    for (std::size_t i = 0; i < images_; ++i)
        if (data.labels[i] < 0 || data.labels[i] >= classes_)
            throw Error("dataset '" + data.name + "': label " + std::to_string(data.labels[i]) + " of image " +
                        std::to_string(i) + " is outside the " + std::to_string(classes_) + " classes of " +
                        net.model_name());
    input_ = to_input(data, 0, images_, spec);
    labels_ = to_labels(data, 0, images_);
    bytes_ = static_cast<std::size_t>(input_.numel()) * sizeof(float);
    const std::size_t S = net.stage_count();
    for (std::size_t k = 0; k < S; ++k) last_.push_back(net.stage_last_layer(k));
    // Output sizes per image, from one float pass of one image; then the budget goes to the
    // deepest stages first (the last stage's output, the logits, is never reused).
    per_image_.assign(S, 0);
    {
        at::NoGradGuard ng;
        const bool training = net.is_training();
        net.eval();
        net.set_runner(nullptr);
        at::Tensor x = input_.slice(0, 0, 1);
        for (std::size_t k = 0; k < S; ++k) {
            const std::size_t in = static_cast<std::size_t>(x.numel()) * sizeof(float);
            x = net.run_stage(k, x);
            per_image_[k] = std::max(in, static_cast<std::size_t>(x.numel()) * sizeof(float));
        }
        net.train(training);
    }
    keep_.assign(S, false);
    for (std::size_t k = S - 1; k-- > 0;) {
        const std::size_t need = static_cast<std::size_t>(x_bytes(k));
        if (bytes_ + need <= budget_bytes) keep_[k] = true, bytes_ += need;
    }
    cache_.resize(S);
    runs_.assign(S, 0);
    seconds_.assign(S, 0.0);
}

double StagedEvaluator::x_bytes(std::size_t k) const {
    // the stage's output for every image (per_image_ holds max(input, output) per image)
    return static_cast<double>(per_image_[k]) * static_cast<double>(images_);
}

bool StagedEvaluator::matches(const Cached& c, const engine::ModelAssignment& a, std::size_t k) const {
    if (!c.valid) return false;
    const auto n = static_cast<std::size_t>(last_[k]);
    if (a.layers.size() < n) return false;
    for (std::size_t l = 0; l < n; ++l)
        if (!(a.layers[l] == c.prefix[l])) return false;
    return true;
}

EvalResult StagedEvaluator::evaluate(const engine::ModelAssignment& a, bool with_loss) {
    engine_.set_assignment(a);
    // The deepest kept stage whose prefix is this assignment's; -1: start from the input.
    long from = -1;
    for (std::size_t k = last_.size(); k-- > 0;)
        if (keep_[k] && matches(cache_[k], a, k)) {
            from = static_cast<long>(k);
            break;
        }
    const std::size_t S = last_.size(), first = static_cast<std::size_t>(from + 1);
    std::size_t chunk = images_;
    for (std::size_t k = first; k < S; ++k)
        chunk = std::min(chunk, std::max(batch_, kChunkBytes / std::max<std::size_t>(1, per_image_[k])));
    const at::Tensor& source = from < 0 ? input_ : cache_[static_cast<std::size_t>(from)].output;

    std::vector<std::vector<at::Tensor>> kept(S);
    std::vector<at::Tensor> logits;
    net_.set_runner(&engine_);
    const bool training = net_.is_training();
    net_.eval();
    {
        torch::NoGradGuard no_grad;
        for (std::size_t b = 0; b < images_; b += chunk) {
            at::Tensor x = source.slice(0, static_cast<std::int64_t>(b), static_cast<std::int64_t>(std::min(images_, b + chunk)));
            for (std::size_t k = first; k < S; ++k) {
                const auto t0 = std::chrono::steady_clock::now();
                x = net_.run_stage(k, x);
                seconds_[k] += seconds_since(t0);
                if (keep_[k]) kept[k].push_back(x);
            }
            logits.push_back(x);
        }
    }
    net_.train(training);
    for (std::size_t k = first; k < S; ++k) {
        ++runs_[k];
        if (!keep_[k]) continue;
        Cached& c = cache_[k];
        c.valid = true;
        c.prefix.assign(a.layers.begin(), a.layers.begin() + last_[k]);
        c.output = kept[k].size() == 1 ? kept[k].front() : at::cat(kept[k]);
    }
    const at::Tensor all = logits.size() == 1 ? logits.front() : at::cat(logits);
    EvalResult r;
    r.correct = static_cast<std::size_t>(all.argmax(1).eq(labels_).sum().item<std::int64_t>());
    r.total = images_;
    r.accuracy = 100.0 * static_cast<double>(r.correct) / static_cast<double>(images_);
    r.loss = std::nan("");
    if (with_loss) {
        // summed per batch of batch_size, in order, as zoo::evaluate does
        double loss_sum = 0.0;
        for (std::size_t b = 0; b < images_; b += batch_) {
            const auto e = static_cast<std::int64_t>(std::min(images_, b + batch_));
            loss_sum += at::cross_entropy_loss(all.slice(0, static_cast<std::int64_t>(b), e),
                                               labels_.slice(0, static_cast<std::int64_t>(b), e), {},
                                               at::Reduction::Sum)
                            .item<double>();
        }
        r.loss = loss_sum / static_cast<double>(images_);
    }
    return r;
}

double StagedEvaluator::sweep_seconds_estimate(std::size_t blocks) const {
    const std::size_t S = last_.size();
    double total = 0;
    double reach = last_.empty() ? 0.0 : static_cast<double>(last_.back());  // nearest kept stage at or after k
    for (std::size_t k = S; k-- > 0;) {
        if (keep_[k]) reach = std::min(reach, static_cast<double>(last_[k]));
        if (runs_[k] == 0) continue;
        total += std::pow(static_cast<double>(blocks), reach) * seconds_[k] / static_cast<double>(runs_[k]);
    }
    return total;
}

}  // namespace hawx::zoo
