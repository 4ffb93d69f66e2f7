#pragma once
/// \file
/// The run folder of an experiment: chosen (resumed or new), locked for as long as this
/// process uses it, and marked running / complete. It is the contract between the pipeline
/// and `hawx report` (docs/report.md lists its files).
///
/// Locking: `run.lock` in the folder is held with flock(2) (exclusive) by the process that
/// uses the folder, and holds its pid; choosing the folder happens under a second lock on
/// `<base>/.<name>.lock`, so two processes started at once never pick the same folder. The
/// kernel drops both locks when a process dies (a SIGKILLed run leaves nothing stale).
/// flock works on local file systems and on NFS with working locks (NFSv4, or v3 with lockd,
/// where Linux maps it to fcntl locks); on a mount without lock support (`nolock`, some FUSE
/// file systems) two runs are not kept apart.
#include <string>

#include <nlohmann/json.hpp>

namespace hawx::pipeline {

class RunFolder {
public:
    /// Opens the folder for experiment `hash` under `base`: unless `fresh`, the newest
    /// `<base>/<name>[-N]` whose run.json says running with this hash (resumed); otherwise,
    /// or when there is none, a new one (finished folders are never reused). Throws
    /// hawx::Error when the folder to resume is locked by another process ("... is in use by
    /// process P ...; pass --new for a folder of its own"). Marks the folder running.
    static RunFolder open(const std::string& base, const std::string& name, const std::string& hash, bool fresh);

    RunFolder(RunFolder&& o) noexcept;
    RunFolder& operator=(RunFolder&&) = delete;
    RunFolder(const RunFolder&) = delete;
    ~RunFolder();  ///< releases the lock

    const std::string& path() const { return dir_; }
    bool resumed() const { return resumed_; }
    /// `<folder>/<relative>`.
    std::string file(const std::string& relative) const { return dir_ + "/" + relative; }

    /// Writes run.json {experiment, status} atomically.
    void set_status(const std::string& status);

private:
    RunFolder(std::string dir, std::string hash, bool resumed, int lock_fd);
    std::string dir_, hash_;
    bool resumed_ = false;
    int lock_fd_ = -1;
};

}  // namespace hawx::pipeline
