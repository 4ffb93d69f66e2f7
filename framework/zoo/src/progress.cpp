#include "hawx/zoo/progress.hpp"
#include "hawx/framework/text.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace hawx::zoo {

namespace {
constexpr int kBarWidth = 24;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
}  // namespace

ProgressBar::ProgressBar(std::size_t total, std::string label)
    : ProgressBar(total, std::move(label), stderr_is_terminal()) {}

ProgressBar::ProgressBar(std::size_t total, std::string label, bool enabled)
    : total_(total), label_(std::move(label)), enabled_(enabled), start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - kRedrawInterval) {}

ProgressBar ProgressBar::lines_unless_terminal(std::size_t total, std::string label, double line_seconds) {
    const bool terminal = stderr_is_terminal();
    ProgressBar b(total, std::move(label), true);
    if (!terminal) {
        b.lines_ = true;
        b.line_seconds_ = line_seconds;
        if (const char* env = std::getenv("HAWX_PROGRESS_SECONDS")) {
            char* end = nullptr;
            const double v = std::strtod(env, &end);
            if (end != env && *end == '\0' && v >= 0) b.line_seconds_ = v;
        }
        b.last_draw_ = b.start_;
    }
    return b;
}

ProgressBar::ProgressBar(ProgressBar&& o) noexcept
    : total_(o.total_),
      label_(std::move(o.label_)),
      enabled_(o.enabled_),
      lines_(o.lines_),
      line_seconds_(o.line_seconds_),
      wrote_line_(o.wrote_line_),
      done_(o.done_),
      status_(std::move(o.status_)),
      finished_(o.finished_),
      start_(o.start_),
      last_draw_(o.last_draw_) {
    o.finished_ = true;  // the moved-from bar draws nothing
}

ProgressBar::~ProgressBar() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (enabled_ && !finished_ && !lines_) {
        draw_locked(false);
        std::fputc('\n', stderr);
    }
}

bool ProgressBar::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

std::string ProgressBar::format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    const long s = std::lround(seconds);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

void ProgressBar::step(std::size_t n, const std::string& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = std::min(total_, done_ + n);
    if (!status.empty()) status_ = status;
    if (!enabled_ || finished_) return;
    const auto now = std::chrono::steady_clock::now();
    if (lines_) {
        if (std::chrono::duration<double>(now - last_draw_).count() >= line_seconds_ && done_ < total_) {
            last_draw_ = now;
            write_line_locked(false);
        }
        return;
    }
    if (now - last_draw_ >= kRedrawInterval || done_ == total_) {
        last_draw_ = now;
        draw_locked(false);
    }
}

void ProgressBar::set_status(const std::string& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    status_ = status;
}

void ProgressBar::finish(const std::string& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    if (!status.empty()) status_ = status;
    finished_ = true;
    if (!enabled_) return;
    if (lines_) {
        const double elapsed = seconds_since(start_);
        if (wrote_line_ || elapsed >= line_seconds_) write_line_locked(true);
        return;
    }
    draw_locked(true);
    std::fputc('\n', stderr);
}

void ProgressBar::write_line_locked(bool final) {
    const std::string line = render_locked(final) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
    wrote_line_ = true;
}

std::size_t ProgressBar::done() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return done_;
}

std::string ProgressBar::render() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return render_locked(finished_);
}

std::string ProgressBar::render_locked(bool final) const {
    const double frac = total_ == 0 ? 1.0 : static_cast<double>(done_) / static_cast<double>(total_);
    const int filled = static_cast<int>(frac * kBarWidth);
    std::string bar(static_cast<std::size_t>(kBarWidth), ' ');
    for (int i = 0; i < filled; ++i) bar[static_cast<std::size_t>(i)] = '=';
    if (filled < kBarWidth && done_ > 0) bar[static_cast<std::size_t>(filled)] = '>';
    const double elapsed =
        seconds_since(start_);
    std::ostringstream os;
    os << label_ << " [" << bar << "] " << static_cast<int>(frac * 100.0) << "% " << done_ << "/" << total_;
    if (!status_.empty()) os << "  " << status_;
    if (final || done_ >= total_)
        os << "  " << format_duration(elapsed);
    else if (done_ > 0)
        os << "  ETA " << format_duration(elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_));
    return os.str();
}

void ProgressBar::draw_locked(bool final) {
    // \r + clear to end of line, so a shorter line leaves no remains of the previous one.
    const std::string line = "\r" + render_locked(final) + "\033[K";
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

}  // namespace hawx::zoo
