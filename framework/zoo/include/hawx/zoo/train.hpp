#pragma once
/// \file
/// Seeded training of zoo networks in float (no runner), with a validation split held out
/// from the training set.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <string>
#include <vector>

#include "hawx/data/dataset.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/zoo/evaluate.hpp"
#include "hawx/zoo/network.hpp"

namespace hawx::zoo {

struct TrainOptions {
    int epochs = 5;
    std::size_t batch_size = 64;
    double lr = 1e-3;
    std::string optimizer = "adam";  ///< "adam" | "sgd"
    double momentum = 0.9;           ///< sgd only
    double weight_decay = 0.0;
    std::string schedule = "cosine";  ///< "cosine" (per step, to 0) | "step" | "constant"
    int step_epochs = 0;              ///< "step": multiply lr by `gamma` every this many epochs (0: a third of the run)
    double gamma = 0.1;
    std::uint64_t seed = 1;
    int threads = 0;              ///< intra-op threads during training; 0: std::thread::hardware_concurrency()
    std::size_t val_size = 5000;  ///< the last val_size training images are held out (0: none)
    bool progress = true;         ///< progress bar on stderr when stderr is a terminal
    /// Train a network whose BatchNorm is folded (fine-tuning the weights inference uses;
    /// refused otherwise, since a folded BatchNorm no longer normalises).
    bool folded = false;
    /// Resumable training: after every epoch the weights, optimizer state, generator state and
    /// epoch statistics are written here (atomically), and a run that finds the file resumes
    /// after its last epoch, to the same result as an uninterrupted run with the same thread
    /// count. Empty: not resumable.
    std::string state_path;
    /// What the state belongs to (options, model, data): a state file with another tag is
    /// refused rather than resumed.
    std::string state_tag;
};

/// Defaults per model: lenet5 trains with Adam (the setting measured to reach >= 89% on
/// Fashion-MNIST in a few minutes on 2 cores); the BatchNorm models with SGD + momentum.
TrainOptions default_train_options(const std::string& model);

/// Throws hawx::Error naming the first bad option (epochs < 1, batch_size 0, lr <= 0,
/// unknown optimizer or schedule, ...).
void check_train_options(const TrainOptions& options);

struct EpochStats {
    int epoch = 0;               ///< 1-based
    double train_loss = 0.0;     ///< mean over the epoch's batches, in training mode
    double train_accuracy = 0.0; ///< percent
    double lr = 0.0;             ///< at the epoch's last step
    EvalResult val;              ///< total == 0 when there is no validation split
    double seconds = 0.0;
};

struct TrainResult {
    std::vector<EpochStats> epochs;
    double seconds = 0.0;
};

using EpochCallback = std::function<void(const EpochStats&)>;

/// Trains `net` in float on `train_set` minus its last `options.val_size` images (see
/// split_train_val), shuffling each epoch with std::mt19937_64(seed) (our own Fisher-Yates,
/// independent of the standard library's distributions) after torch::manual_seed(seed), so
/// the same seed, network and thread count give the same weights on the same machine.
/// Sets at::set_num_threads(threads) for the duration and restores the previous count.
/// Shows a ProgressBar (loss, accuracy, ETA) on stderr when it is a terminal; calls
/// `on_epoch` after every epoch (not for epochs restored from options.state_path). Leaves the network in eval mode. Throws hawx::Error for bad
/// options, a network whose BatchNorm is folded, labels the network cannot output, or a
/// diverging loss (NaN/Inf).
TrainResult train(Network& net, const Dataset& train_set, const hawx::InputSpec& spec, const TrainOptions& options,
                  const EpochCallback& on_epoch = {});

/// Throws hawx::Error naming `path` when it holds a training state of another run (another
/// tag) or one this version cannot read; nothing when it does not exist. Callers check before
/// they arm a StateFileGuard, so another run's state is never removed.
void check_train_state(const std::string& path, const std::string& tag);

/// Holds an exclusive lock on a training state file (flock(2) on `<path>.lock`, the holder's
/// pid written in it) for as long as it lives, so that two processes never train into one
/// state: throws hawx::Error naming the file and the holder when another process has it.
/// Take it before reading the state. The lock file is removed on release.
class StateFileLock {
public:
    explicit StateFileLock(const std::string& path);
    ~StateFileLock();
    StateFileLock(const StateFileLock&) = delete;
    StateFileLock& operator=(const StateFileLock&) = delete;

private:
    std::string lock_path_;
    int fd_ = -1;
};

/// Removes a training state file when the scope ends, normally or by an exception (a failed
/// run leaves nothing behind); only a killed process, which runs no destructor, leaves it to
/// resume from.
class StateFileGuard {
public:
    explicit StateFileGuard(std::string path) : path_(std::move(path)) {}
    ~StateFileGuard();
    StateFileGuard(const StateFileGuard&) = delete;
    StateFileGuard& operator=(const StateFileGuard&) = delete;

private:
    std::string path_;
};

}  // namespace hawx::zoo
