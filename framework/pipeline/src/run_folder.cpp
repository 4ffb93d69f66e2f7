#include "hawx/pipeline/run_folder.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "hawx/framework/io.hpp"
#include "hawx/sdk/error.hpp"

namespace fs = std::filesystem;

namespace hawx::pipeline {

namespace {

int open_lock_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(path + ": cannot open lock file (" + std::strerror(errno) + ")");
    return fd;
}

// Blocks until the lock is ours (choosing a folder takes milliseconds).
void lock_wait(int fd, const std::string& path) {
    while (::flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        const std::string why = std::strerror(errno);
        ::close(fd);
        throw Error(path + ": cannot lock (" + why + ")");
    }
}

std::string read_pid(const std::string& lock_path) {
    std::ifstream in(lock_path);
    std::string pid;
    std::getline(in, pid);
    return pid.empty() ? std::string("?") : pid;
}

// Takes the folder's run.lock without waiting; -1 when another process holds it.
int try_lock_folder(const std::string& dir) {
    const std::string path = dir + "/run.lock";
    const int fd = open_lock_file(path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(fd);
        if (err == EWOULDBLOCK) return -1;
        throw Error(path + ": cannot lock (" + std::strerror(err) + ")");
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        throw Error(path + ": cannot write the holder's pid (" + why + ")");
    }
    return fd;
}

// The newest `<base>/<name>[-N]` whose state says running with this experiment hash.
std::string newest_unfinished(const std::string& base, const std::string& name, const std::string& hash) {
    std::string best;
    if (!fs::is_directory(base)) return best;
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
    return best;
}

}  // namespace

RunFolder::RunFolder(std::string dir, std::string hash, bool resumed, int lock_fd)
    : dir_(std::move(dir)), hash_(std::move(hash)), resumed_(resumed), lock_fd_(lock_fd) {}

RunFolder::RunFolder(RunFolder&& o) noexcept
    : dir_(std::move(o.dir_)), hash_(std::move(o.hash_)), resumed_(o.resumed_), lock_fd_(o.lock_fd_) {
    o.lock_fd_ = -1;
}

RunFolder::~RunFolder() {
    if (lock_fd_ >= 0) ::close(lock_fd_);  // closing releases the flock
}

RunFolder RunFolder::open(const std::string& base, const std::string& name, const std::string& hash, bool fresh) {
    std::error_code ec;
    fs::create_directories(base, ec);
    if (ec) throw Error(base + ": cannot create output folder: " + ec.message());
    // Choosing and claiming a folder is one step for every process of this name.
    const std::string choose_path = (fs::path(base) / ("." + name + ".lock")).string();
    const int choose_fd = open_lock_file(choose_path);
    lock_wait(choose_fd, choose_path);
    struct Release {
        int fd;
        ~Release() { ::close(fd); }
    } release{choose_fd};

    if (!fresh) {
        const std::string dir = newest_unfinished(base, name, hash);
        if (!dir.empty()) {
            const int fd = try_lock_folder(dir);
            if (fd < 0)
                throw Error("run folder " + dir + " is in use by process " + read_pid(dir + "/run.lock") +
                            " (another hawx run of this experiment); wait for it to finish, or pass --new for a "
                            "folder of its own");
            RunFolder f(dir, hash, true, fd);
            f.set_status("running");
            return f;
        }
    }
    const std::string dir = create_run_dir(base, name);
    const int fd = try_lock_folder(dir);
    if (fd < 0) throw Error("run folder " + dir + ": locked by process " + read_pid(dir + "/run.lock") + " right after it was created");
    RunFolder f(dir, hash, false, fd);
    f.set_status("running");
    return f;
}

void RunFolder::set_status(const std::string& status) {
    write_file_atomic(dir_ + "/run.json", nlohmann::json{{"experiment", hash_}, {"status", status}}.dump(1) + "\n");
}

}  // namespace hawx::pipeline
