#include "hawx/zoo/train.hpp"
#include "hawx/framework/text.hpp"

#include <ATen/Parallel.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/serialize.h>
#include <torch/utils.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <thread>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include "hawx/sdk/error.hpp"
#include "hawx/zoo/progress.hpp"

namespace hawx::zoo {

namespace {

constexpr double kPi = 3.14159265358979323846;

// at::set_num_threads for a scope.
class ThreadCountGuard {
public:
    explicit ThreadCountGuard(int threads) : previous_(at::get_num_threads()) { at::set_num_threads(threads); }
    ~ThreadCountGuard() { at::set_num_threads(previous_); }
    ThreadCountGuard(const ThreadCountGuard&) = delete;
    ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

private:
    int previous_;
};

// Fisher-Yates with our own mapping from the generator (std::uniform_int_distribution is
// implementation-defined); the modulo bias is below 2^-40 for any dataset size here.
void shuffle(std::vector<std::size_t>& v, std::mt19937_64& rng) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
}

double lr_at(const TrainOptions& o, std::size_t step, std::size_t total_steps, int epoch) {
    if (o.schedule == "cosine")
        return o.lr * 0.5 * (1.0 + std::cos(kPi * static_cast<double>(step) / static_cast<double>(total_steps)));
    if (o.schedule == "step") {
        const int every = o.step_epochs > 0 ? o.step_epochs : std::max(1, (o.epochs + 2) / 3);
        return o.lr * std::pow(o.gamma, epoch / every);
    }
    return o.lr;
}

std::string fmt(const char* format, double a, double b) {
    char buf[96];
    std::snprintf(buf, sizeof buf, format, a, b);
    return buf;
}

nlohmann::json stats_json(const EpochStats& s) {
    return {{"epoch", s.epoch}, {"train_loss", s.train_loss}, {"train_accuracy", s.train_accuracy},
            {"lr", s.lr}, {"val_correct", s.val.correct}, {"val_total", s.val.total},
            {"val_accuracy", s.val.accuracy}, {"val_loss", s.val.loss}, {"seconds", s.seconds}};
}

EpochStats stats_from(const nlohmann::json& j) {
    EpochStats s;
    s.epoch = j.at("epoch").get<int>();
    s.train_loss = j.at("train_loss").get<double>();
    s.train_accuracy = j.at("train_accuracy").get<double>();
    s.lr = j.at("lr").get<double>();
    s.val.correct = j.at("val_correct").get<std::size_t>();
    s.val.total = j.at("val_total").get<std::size_t>();
    s.val.accuracy = j.at("val_accuracy").get<double>();
    s.val.loss = j.at("val_loss").get<double>();
    s.seconds = j.at("seconds").get<double>();
    return s;
}

// The state after `done` epochs, written to a temporary file and renamed over the old one,
// so a kill leaves either state whole.
void save_state(const std::string& path, const std::string& tag, Network& net, torch::optim::Optimizer& opt,
                const std::vector<EpochStats>& done) {
    torch::serialize::OutputArchive ar, model, optimizer;
    net.save(model);
    opt.save(optimizer);
    ar.write("model", model);
    ar.write("optimizer", optimizer);
    nlohmann::json history = nlohmann::json::array();
    for (const auto& e : done) history.push_back(stats_json(e));
    ar.write("tag", c10::IValue(tag));
    ar.write("history", c10::IValue(history.dump()));
    ar.write("generator", at::Generator(at::detail::getDefaultCPUGenerator()).get_state());
    const std::string tmp = path + ".tmp";
    ar.save_to(tmp);
    std::filesystem::rename(tmp, path);
}

// Restores a state written by save_state; returns the epochs it holds.
std::vector<EpochStats> load_state(const std::string& path, const std::string& tag, Network& net,
                                   torch::optim::Optimizer& opt) {
    check_train_state(path, tag);
    torch::serialize::InputArchive ar, model, optimizer;
    c10::IValue v_history;
    at::Tensor generator;
    try {
        ar.load_from(path);
        ar.read("history", v_history);
        ar.read("generator", generator);
        ar.read("model", model);
        ar.read("optimizer", optimizer);
    } catch (const c10::Error&) {
        throw Error(path + ": not a training state this version can read (delete it to start over)");
    }
    net.load(model);
    opt.load(optimizer);
    at::Generator(at::detail::getDefaultCPUGenerator()).set_state(generator);
    std::vector<EpochStats> done;
    for (const auto& e : nlohmann::json::parse(v_history.toStringRef())) done.push_back(stats_from(e));
    return done;
}

}  // namespace

void check_train_state(const std::string& path, const std::string& tag) {
    if (!std::filesystem::exists(path)) return;
    torch::serialize::InputArchive ar;
    c10::IValue v_tag;
    try {
        ar.load_from(path);
        ar.read("tag", v_tag);
    } catch (const c10::Error&) {
        throw Error(path + ": not a training state this version can read (delete it to start over)");
    }
    if (!v_tag.isString() || v_tag.toStringRef() != tag)
        throw Error(path + ": training state of another run (delete it, or choose another output)");
}

StateFileLock::StateFileLock(const std::string& path) : lock_path_(path + ".lock") {
    for (;;) {
        fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) throw Error(lock_path_ + ": cannot open lock file (" + std::strerror(errno) + ")");
        if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            const int err = errno;
            std::string pid;
            if (err == EWOULDBLOCK) std::getline(std::ifstream(lock_path_), pid);
            ::close(fd_);
            fd_ = -1;
            if (err == EWOULDBLOCK)
                throw Error(path + ": another process (pid " + (pid.empty() ? std::string("?") : pid) +
                            ") is training into this state; wait for it, or choose another output");
            throw Error(lock_path_ + ": cannot lock (" + std::strerror(err) + ")");
        }
        // A holder that just released removed the file: locking its old inode locks nothing.
        struct stat held {}, named {};
        if (::fstat(fd_, &held) == 0 && ::stat(lock_path_.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
            held.st_dev == named.st_dev)
            break;
        ::close(fd_);
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        const std::string why = std::strerror(errno);
        ::close(fd_);
        throw Error(lock_path_ + ": cannot write the holder's pid (" + why + ")");
    }
}

StateFileLock::~StateFileLock() {
    if (fd_ < 0) return;
    ::unlink(lock_path_.c_str());  // while still held: a process waiting on the old inode retries
    ::close(fd_);
}

StateFileGuard::~StateFileGuard() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
}

TrainOptions default_train_options(const std::string& model) {
    TrainOptions o;
    if (model == "lenet5") {
        o.optimizer = "adam";
        o.lr = 1e-3;
        o.batch_size = 64;
        o.epochs = 10;
    } else {
        o.optimizer = "sgd";
        o.lr = 0.05;
        o.momentum = 0.9;
        o.weight_decay = 5e-4;
        o.batch_size = 128;
        o.epochs = 30;
    }
    return o;
}

void check_train_options(const TrainOptions& o) {
    if (o.epochs < 1) throw Error("training: epochs must be >= 1, got " + std::to_string(o.epochs));
    if (o.batch_size < 1) throw Error("training: batch size must be >= 1");
    if (!(o.lr > 0) || !std::isfinite(o.lr)) throw Error("training: learning rate must be a positive number");
    if (o.optimizer != "adam" && o.optimizer != "sgd")
        throw Error("training: unknown optimizer '" + o.optimizer + "' (adam, sgd)");
    if (o.schedule != "cosine" && o.schedule != "step" && o.schedule != "constant")
        throw Error("training: unknown lr schedule '" + o.schedule + "' (cosine, step, constant)");
    if (!(o.momentum >= 0) || o.momentum >= 1) throw Error("training: momentum must be in [0, 1)");
    if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay))
        throw Error("training: weight decay must be >= 0");
    if (o.step_epochs < 0) throw Error("training: step epochs must be >= 0");
    if (!(o.gamma > 0) || o.gamma > 1) throw Error("training: gamma must be in (0, 1]");
    if (o.threads < 0) throw Error("training: threads must be >= 0 (0: all cores)");
}

TrainResult train(Network& net, const Dataset& train_set, const hawx::InputSpec& spec, const TrainOptions& o,
                  const EpochCallback& on_epoch) {
    check_train_options(o);
    if (net.batchnorm_folded() && !o.folded)
        throw Error(net.model_name() + ": cannot train a network whose BatchNorm has been folded");
    const auto classes = net.model_options().num_classes;
    for (std::size_t i = 0; i < train_set.size(); ++i)
        if (train_set.labels[i] < 0 || train_set.labels[i] >= classes)
            throw Error("dataset '" + train_set.name + "': label " + std::to_string(train_set.labels[i]) +
                        " of image " + std::to_string(i) + " is outside the " + std::to_string(classes) +
                        " classes of " + net.model_name());

    Dataset fit, val;
    if (o.val_size > 0)
        std::tie(fit, val) = hawx::split_train_val(train_set, o.val_size);
    else
        fit = train_set;
    if (fit.size() == 0) throw Error("dataset '" + train_set.name + "' has no training images");

    const int threads = o.threads > 0 ? o.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    ThreadCountGuard thread_guard(threads);
    torch::manual_seed(o.seed);
    std::mt19937_64 rng(o.seed);

    std::unique_ptr<torch::optim::Optimizer> opt;
    if (o.optimizer == "sgd")
        opt = std::make_unique<torch::optim::SGD>(
            net.parameters(), torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay));
    else
        opt = std::make_unique<torch::optim::Adam>(net.parameters(),
                                                   torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));

    // A last batch of one image is dropped: BatchNorm cannot train on a single value per channel.
    const std::size_t n = fit.size();
    std::size_t steps = (n + o.batch_size - 1) / o.batch_size;
    if (steps > 1 && n % o.batch_size == 1) --steps;
    const std::size_t total_steps = steps * static_cast<std::size_t>(o.epochs);
    const std::size_t eval_batch = std::max<std::size_t>(o.batch_size, 256);

    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;

    TrainResult result;
    int first_epoch = 0;
    if (!o.state_path.empty() && std::filesystem::exists(o.state_path)) {
        result.epochs = load_state(o.state_path, o.state_tag, net, *opt);
        first_epoch = static_cast<int>(result.epochs.size());
        if (first_epoch > o.epochs)
            throw Error(o.state_path + ": holds " + std::to_string(first_epoch) + " epochs, more than the " +
                        std::to_string(o.epochs) + " asked for");
        // The shuffles of the epochs already done, so the next one draws the same order.
        for (int e = 0; e < first_epoch; ++e) shuffle(order, rng);
    }
    const auto t0 = std::chrono::steady_clock::now();
    ProgressBar bar(total_steps, net.model_name(), o.progress && ProgressBar::stderr_is_terminal());
    std::size_t global_step = steps * static_cast<std::size_t>(first_epoch);
    for (int epoch = first_epoch; epoch < o.epochs; ++epoch) {
        const auto te = std::chrono::steady_clock::now();
        shuffle(order, rng);
        net.train();
        double loss_sum = 0.0;
        std::size_t correct = 0, seen = 0;
        double lr = o.lr;
        for (std::size_t s = 0; s < steps; ++s, ++global_step) {
            lr = lr_at(o, global_step, total_steps, epoch);
            for (auto& group : opt->param_groups()) group.options().set_lr(lr);
            const std::size_t begin = s * o.batch_size, end = std::min(n, begin + o.batch_size);
            const std::vector<std::size_t> idx(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                               order.begin() + static_cast<std::ptrdiff_t>(end));
            const at::Tensor x = hawx::to_input(fit, idx, spec);
            const at::Tensor y = hawx::to_labels(fit, idx);
            const at::Tensor logits = net.forward(x);
            const at::Tensor loss = at::cross_entropy_loss(logits, y);
            const double l = loss.item<double>();
            if (!std::isfinite(l))
                throw Error(net.model_name() + ": training diverged (loss " + std::to_string(l) + " at epoch " +
                            std::to_string(epoch + 1) + ", step " + std::to_string(s + 1) +
                            "); try a lower learning rate");
            opt->zero_grad();
            loss.backward();
            opt->step();
            const auto b = static_cast<double>(end - begin);
            loss_sum += l * b;
            {
                torch::NoGradGuard no_grad;
                correct += static_cast<std::size_t>(logits.argmax(1).eq(y).sum().item<std::int64_t>());
            }
            seen += end - begin;
            if (bar.enabled())
                bar.step(1, "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o.epochs) + "  " +
                                fmt("loss %.4f  acc %.2f%%", loss_sum / static_cast<double>(seen),
                                    100.0 * static_cast<double>(correct) / static_cast<double>(seen)));
        }
        EpochStats st;
        st.epoch = epoch + 1;
        st.train_loss = loss_sum / static_cast<double>(seen);
        st.train_accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(seen);
        st.lr = lr;
        if (val.size() > 0) st.val = evaluate(net, val, spec, eval_batch);
        st.seconds = seconds_since(te);
        result.epochs.push_back(st);
        if (on_epoch) on_epoch(st);
        if (!o.state_path.empty()) save_state(o.state_path, o.state_tag, net, *opt, result.epochs);
    }
    bar.finish();
    net.eval();
    result.seconds = seconds_since(t0);
    return result;
}

}  // namespace hawx::zoo
