// Running gnuplot on the figures' scripts, outputs renamed into place atomically.
#include "hawx/report/report.hpp"

#include "hawx/framework/text.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "hawx/framework/io.hpp"
#include "hawx/sdk/error.hpp"
#include "report_data.hpp"

namespace hawx::report {

using namespace detail;

namespace {

std::optional<std::string> find_on_path(const std::string& exe) {
    const char* path = std::getenv("PATH");
    if (!path) return std::nullopt;
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        const fs::path candidate = fs::path(dir.empty() ? "." : dir) / exe;
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return std::nullopt;
}

struct ProcessResult {
    int status = -1;  // exit status, -1 when it did not exit normally
    std::string err;
};

// Runs argv in `cwd`, stdout discarded, stderr captured (gnuplot's messages).
ProcessResult run_process(const std::string& cwd, const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("cannot start gnuplot: pipe: ") + std::strerror(errno));
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw Error(std::string("cannot start gnuplot: fork: ") + std::strerror(errno));
    }
    if (pid == 0) {  // child: only async-signal-safe calls until exec
        const int devnull = ::open("/dev/null", O_RDWR);
        if (devnull >= 0) ::dup2(devnull, 0), ::dup2(devnull, 1);
        ::dup2(fds[1], 2);
        if (::chdir(cwd.c_str()) != 0) ::_exit(126);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    ProcessResult r;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n > 0) r.err.append(buf, static_cast<std::size_t>(n));
        else if (n == 0 || errno != EINTR) break;
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

// gnuplot writes its outputs itself; they go to temporary names, are synced, then renamed.
void sync_and_rename(const fs::path& tmp, const fs::path& final_path) {
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
    std::error_code ec;
    fs::rename(tmp, final_path, ec);
    if (ec) throw Error(final_path.string() + ": cannot move the rendered file into place: " + ec.message());
}

std::string last_line(const std::string& s) {
    std::string t = s;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    const std::size_t p = t.rfind('\n');
    return p == std::string::npos ? t : t.substr(p + 1);
}

}  // namespace

namespace detail {

}  // namespace detail

std::vector<std::string> render_plots(const std::string& run_dir, std::ostream& notices) {
    const RunFiles f = read_run(run_dir);
    std::vector<std::string> notes;

    // Everything is read and checked before the first file is written.
    std::optional<Results> res;
    if (f.results) res = parse_results(*f.results);
    std::vector<Figure> figs;
    if (f.representatives) {
        if (auto fig = fig2(*f.representatives, notes)) figs.push_back(*fig);
    } else {
        notes.push_back("representatives.json not found: fig2_activations skipped");
    }
    if (f.scores) {
        for (auto& fig : fig3(*f.scores, notes)) figs.push_back(std::move(fig));
    } else {
        notes.push_back("scores.json not found: fig3_score_distribution skipped");
    }
    const std::optional<ModelScores> ms = model_scores(f);
    if (ms) {
        if (auto fig = fig4(*ms, notes)) figs.push_back(*fig);
    } else {
        notes.push_back("model_scores.csv not found: fig4_score_vs_accuracy skipped");
    }
    for (auto& fig : fig5(f, res, notes)) figs.push_back(std::move(fig));

    std::vector<std::pair<std::string, std::string>> tables;  // file name, content
    json report = json::object();
    if (f.scores) {
        std::vector<std::string> ignored;  // already noted by print_report's Table I
        if (const std::optional<TableI> t = table1(*f.scores, ignored)) {
            tables.emplace_back("table1.csv", table1_csv(*t));
            json rows = json::array();
            for (const auto& r : t->rows)
                rows.push_back({{"level", r.level}, {"layer", r.layer}, {"name", r.name}, {"filter", r.filter},
                                {"sample", r.tag}, {"least", jnum(r.lo)}, {"most", jnum(r.hi)}});
            report["table1"] = {{"least", t->lo}, {"most", t->hi}, {"rows", rows}};
        }
    }
    if (ms) {
        const Rho rho = rho_of(*ms);
        report["spearman"] = {{"rho", jnum(rho.rho)}, {"blocks", rho.n}, {"accuracy", ms->accuracy_label},
                              {"source", fs::path(ms->source).filename().string()}};
    }
    if (res) {
        const std::vector<RuntimeRow> rows = runtime_rows(*res);
        tables.emplace_back("search_runtime.csv", runtime_csv(rows, *res));
        json jr = json::array();
        for (const auto& x : rows)
            jr.push_back({{"strategy", x.search->strategy}, {"max_drop", x.search->drop},
                          {"evaluations", jnum(x.search->evaluations)}, {"wall_s", jnum(x.search->wall)},
                          {"t_hawx_s", jnum(x.t_hawx)}, {"t_hawx_eq9_s", jnum(x.t_eq9)}, {"granularity", x.granularity},
                          {"units", jnum(x.units)}, {"log10_n_exh", jnum(x.log10_n)}, {"log10_t_exh_s", jnum(x.log10_t)},
                          {"log10_speedup", jnum(x.log10_speedup)}, {"log10_speedup_eq9", jnum(x.log10_speedup_eq9)},
                          {"measured_speedup", jnum(x.measured)}});
        report["search_runtime"] = jr;
    }
    tables.emplace_back("report.json", report.dump(1) + "\n");

    const fs::path plots = f.dir / "plots";
    std::error_code ec;
    fs::create_directories(plots, ec);
    if (ec) throw Error(plots.string() + ": cannot create: " + ec.message());
    std::vector<std::string> written;
    const auto put = [&](const std::string& name, const std::string& content) {
        write_file_atomic((plots / name).string(), content);
        written.push_back((plots / name).string());
    };
    for (const auto& [name, content] : tables) put(name, content);
    for (const auto& fig : figs) {
        for (const auto& [name, content] : fig.data) put(name, content);
        put(fig.name + ".gp", script_of(fig));
    }
    for (const auto& n : notes) notices << "notice: " << n << "\n";

    const std::optional<std::string> gnuplot = find_on_path("gnuplot");
    if (!gnuplot) {
        notices << "gnuplot not found: plots skipped (data and scripts are in " << plots.string() << ")\n";
        return written;
    }
    std::vector<std::string> failures;
    const std::string tag = ".tmp." + std::to_string(::getpid());
    for (const auto& fig : figs) {
        const std::string png = fig.name + ".png", svg = fig.name + ".svg";
        const ProcessResult r =
            run_process(plots.string(), {*gnuplot, "-e", "PNG=" + gp(png + tag) + "; SVG=" + gp(svg + tag), fig.name + ".gp"});
        bool ok = r.status == 0;
        for (const auto& out : {png, svg}) {
            std::error_code e2;
            ok = ok && fs::file_size(plots / (out + tag), e2) > 0 && !e2;
        }
        if (!ok) {
            for (const auto& out : {png, svg}) fs::remove(plots / (out + tag), ec);
            failures.push_back(fig.name + ".gp" +
                               (r.err.empty() ? strf(" (exit status %d)", r.status) : ": " + one_line(last_line(r.err))));
            continue;
        }
        for (const auto& out : {png, svg}) {
            sync_and_rename(plots / (out + tag), plots / out);
            written.push_back((plots / out).string());
        }
    }
    if (!failures.empty())
        throw Error(plots.string() + ": gnuplot failed on " + failures.front() +
                    (failures.size() > 1 ? strf(" (and %zu more scripts)", failures.size() - 1) : ""));
    return written;
}

}  // namespace hawx::report
