#pragma once
/// \file
/// A one-line progress bar on stderr for long loops (training, profiling, search). It draws
/// only when stderr is a terminal, so logs and pipes stay clean; or, for loops that may run
/// for minutes without a terminal (a search under nohup or a batch scheduler), it writes a
/// plain line at most every few seconds instead. Torch-free.
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace hawx::zoo {

/// `label [=========>          ]  45%  120/266  <status>  ETA 0:12`, redrawn in place at most
/// ten times a second. Thread-safe: step() may be called from several threads.
class ProgressBar {
public:
    /// Draws when stderr is a terminal.
    ProgressBar(std::size_t total, std::string label);
    /// Draws when `enabled` (tests and callers that know better).
    ProgressBar(std::size_t total, std::string label, bool enabled);

    /// Draws on a terminal; otherwise writes the line (ending in a newline) when at least
    /// `line_seconds` passed since the last one, and at finish() when any line was written
    /// or the loop took longer than that. The environment variable HAWX_PROGRESS_SECONDS
    /// overrides `line_seconds` (0: a line per step).
    static ProgressBar lines_unless_terminal(std::size_t total, std::string label, double line_seconds = 5.0);
    ProgressBar(ProgressBar&& o) noexcept;
    /// Ends the line if finish() was not called.
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    /// Advances by `n` steps and sets the status text (e.g. "loss 0.41 acc 86.2%"); an empty
    /// status keeps the previous one.
    void step(std::size_t n = 1, const std::string& status = "");
    /// Sets the status text without advancing.
    void set_status(const std::string& status);
    /// Draws the final state (with the total time instead of an ETA) and ends the line.
    void finish(const std::string& status = "");

    std::size_t done() const;
    std::size_t total() const { return total_; }
    bool enabled() const { return enabled_; }

    /// The line as it would be drawn now, without the leading carriage return.
    std::string render() const;

    /// True when file descriptor 2 is a terminal.
    static bool stderr_is_terminal();
    /// "0:07", "12:30", "1:02:03".
    static std::string format_duration(double seconds);

private:
    std::string render_locked(bool final) const;
    void draw_locked(bool final);
    void write_line_locked(bool final);

    std::size_t total_;
    std::string label_;
    bool enabled_;
    bool lines_ = false;          // plain lines instead of a redrawn bar
    double line_seconds_ = 5.0;
    bool wrote_line_ = false;
    std::size_t done_ = 0;
    std::string status_;
    bool finished_ = false;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_draw_;
    mutable std::mutex mutex_;
};

}  // namespace hawx::zoo
