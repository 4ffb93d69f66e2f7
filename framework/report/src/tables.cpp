// The printed report: Table I and II analogs, Fig. 4 data with rho, the search runtime (eq. 7-9).
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

// "1.67x" up to a million, then "10^213.13x".
std::string times(double log10v) {
    if (!std::isfinite(log10v)) return "-";
    if (log10v >= 6) return strf("10^%.2fx", log10v);
    const double v = std::pow(10.0, log10v);
    return v < 10 ? strf("%.2fx", v) : strf("%.0fx", v);
}

std::string shorten(const std::string& s, std::size_t n) {
    return s.size() <= n ? s : s.substr(0, n - 3) + "...";
}

std::string report_text(const RunFiles& f) {
    std::ostringstream os;
    std::vector<std::string> notes;
    std::optional<Results> res;
    if (f.results) res = parse_results(*f.results);
    std::optional<TableI> t1;
    if (f.scores) t1 = table1(*f.scores, notes);
    const std::optional<ModelScores> ms = model_scores(f);

    os << "run folder: " << f.dir.string() << "\n";
    if (f.state) {
        const std::string status = f.state->find(f.state->root, "", "status") ? f.state->string_at(f.state->root, "", "status") : "?";
        os << "status: " << status << (status == "complete" ? "" : " (an unfinished run: the tables show what is there)")
           << "\n";
    }
    if (res) {
        os << "model: " << res->model << ", granularity " << res->granularity << ", " << res->blocks.size()
           << " blocks:";
        for (const auto& b : res->blocks) os << " " << b;
        os << "\nbaseline: float " << num_or_dash(res->float_test, "%.2f%%") << " test / "
           << num_or_dash(res->float_val, "%.2f%%") << " validation; int8-exact "
           << num_or_dash(res->exact_test, "%.2f%%") << " test / " << num_or_dash(res->exact_val, "%.2f%%")
           << " validation\n";
    }

    os << "\n== Table I analog: hawx(l) and hawx(f) of sample filters, least vs most aggressive block by hawx(model)\n";
    if (!f.scores) {
        os << "notice: scores.json not found: Table I skipped\n";
    } else if (t1) {
        os << strf("%-18s %-16s %14s %14s\n", "layer", "unit", (t1->lo + " (least)").c_str(), (t1->hi + " (most)").c_str());
        for (const auto& r : t1->rows) {
            const std::string layer = r.level == "model" ? "-" : std::to_string(r.layer) + " " + r.name;
            std::string unit = r.level == "filter" ? "filter " + std::to_string(r.filter) : r.level;
            if (!r.tag.empty()) unit += " (" + r.tag + ")";
            os << strf("%-18s %-16s %14s %14s\n", shorten(layer, 18).c_str(), unit.c_str(), num_or_dash(r.lo, "%.3e").c_str(),
                       num_or_dash(r.hi, "%.3e").c_str());
        }
        os << "(hawx(f), hawx(l), hawx(model): mean per-operation score; filters: the first, and the min and max of the"
              " most aggressive block)\n";
    }
    for (const auto& n : notes) os << "notice: " << n << "\n";

    os << "\n== Table II analog: configurations found (validation selects, test reports; power and area normalized to "
          "the all-exact design)\n";
    if (!res) {
        os << "notice: results.json not found: Table II and the runtime comparison skipped\n";
    } else {
        os << strf("%-12s %5s %7s %-34s %7s %13s %-10s %6s %6s %10s %12s\n", "strategy", "drop", "thresh",
                   "configuration", "val", "test", "accel", "power", "area", "power_mW", "area_um2");
        os << strf("%-12s %5s %7s %-34s %7s %13s %-10s %6s %6s %10s %12s\n", "int8-exact", "-", "-", "(all exact)",
                   num_or_dash(res->exact_val, "%.2f").c_str(), num_or_dash(res->exact_test, "%.2f").c_str(), "-",
                   "1.000", "1.000", "-", "-");
        bool costlier = false;
        for (const auto& s : res->searches) {
            const std::string config = s.found ? shorten(s.configuration, 34) : "(none meets the threshold)";
            if (!s.objective.empty()) os << "  (" << s.strategy << " minimizing power on " << s.objective << ")\n";
            const std::string test = s.found && std::isfinite(s.test)
                                         ? strf("%.2f", s.test) + (std::isfinite(s.ci) ? strf("+-%.2f", s.ci) : "")
                                         : "-";
            const std::size_t n = std::max<std::size_t>(1, s.accelerators.size());
            for (std::size_t a = 0; a < n; ++a) {
                const AccelResult ar = a < s.accelerators.size() ? s.accelerators[a] : AccelResult{"-", "", kNaN, kNaN, kNaN, kNaN};
                os << strf("%-12s %5.2f %7s %-34s %7s %13s %-10s %6s %6s %10s %12s\n", shorten(s.strategy, 12).c_str(),
                           s.drop, num_or_dash(s.threshold, "%.2f").c_str(), config.c_str(),
                           s.found ? num_or_dash(s.val, "%.2f").c_str() : "-", test.c_str(), shorten(ar.name, 10).c_str(),
                           num_or_dash(ar.power_norm, "%.3f").c_str(), num_or_dash(ar.area_norm, "%.3f").c_str(),
                           num_or_dash(ar.power_mw, "%.3f").c_str(), num_or_dash(ar.area_um2, "%.1f").c_str());
                if (a == 0 && s.finetuned)
                    os << strf("             fine-tuned%s (%s epoch%s, %s): val %s -> %s, test %s -> %s%s%s\n",
                               s.ft_judged ? ", as the search judged it" : "", num_or_dash(s.ft_epochs, "%.0f").c_str(),
                               s.ft_epochs == 1 ? "" : "s",
                               num_or_dash(s.ft_seconds, "%.1f s").c_str(), num_or_dash(s.ft_val_before, "%.2f").c_str(),
                               num_or_dash(s.ft_val_after, "%.2f").c_str(), num_or_dash(s.ft_test_before, "%.2f").c_str(),
                               num_or_dash(s.ft_test_after, "%.2f").c_str(),
                               std::isfinite(s.ft_ci) ? strf("+-%.2f", s.ft_ci).c_str() : "",
                               s.ft_meets ? "" : " (below the threshold on test)");
                if (!ar.realized.empty() && ar.realized != s.configuration)
                    os << "             realized on " << ar.name << " as " << shorten(ar.realized, 100)
                       << (ar.realized.size() > 100 ? " (in full in results.json)" : "")
                       << (std::isfinite(ar.val) ? strf(": val %.2f", ar.val) : std::string())
                       << (std::isfinite(ar.test) ? strf(", test %.2f", ar.test) : std::string()) << "\n";
                if (ar.power_norm > 1.0 + 1e-12) {
                    os << "             ! costs more than the all-exact design on " << ar.name << "\n";
                    costlier = true;
                }
            }
        }
        if (costlier)
            os << "note: rows marked ! save nothing on that accelerator (power above the all-exact design's); a search "
                  "minimizes only its objective's cost\n";
    }

    os << "\n== Fig. 4 data: hawx(model) vs accuracy, one block in every layer\n";
    if (!ms) {
        os << "notice: model_scores.csv not found (nor accuracies in scores.json): Spearman's rho skipped\n";
    } else {
        const Rho rho = rho_of(*ms);
        for (const auto& r : ms->rows)
            os << strf("%-12s hawx(model) %12s   %s %s\n", shorten(r.block, 12).c_str(), num_or_dash(r.mean, "%.4e").c_str(),
                       ms->accuracy_label.c_str(), num_or_dash(r.accuracy, "%.2f%%").c_str());
        if (rho.n >= 2)
            os << strf("Spearman rho(hawx(model), %s) = %.3f over %zu blocks (%s)\n", ms->accuracy_label.c_str(),
                       rho.rho, rho.n, fs::path(ms->source).filename().c_str());
        else
            os << "notice: fewer than two blocks with a score and an accuracy: Spearman's rho skipped\n";
    }

    if (res) {
        const std::vector<RuntimeRow> rows = runtime_rows(*res);
        os << "\n== Search runtime vs exhaustive search (eq. 7-9)\n";
        os << "B = " << res->blocks.size() << " blocks; t_eval " << num_or_dash(res->t_eval, "%.3f s")
           << (std::isfinite(res->t_eval_raw)
                   ? " (a fine-tune, " + num_or_dash(res->t_finetune, "%.3f s") + ", and a validation pass, " +
                         num_or_dash(res->t_eval_raw, "%.3f s") + ")"
                   : std::string())
           << " per evaluation; t_prof " << num_or_dash(res->t_prof, "%.3f s") << "; t_score (all blocks) "
           << num_or_dash(res->t_score, "%.3f s") << "; representatives " << num_or_dash(res->t_rep, "%.3f s")
           << " (not in eq. 9)\n";
        if (rows.empty()) {
            os << "notice: results.json has no accounting (units per granularity): runtime comparison skipped\n";
        } else {
            os << "N_exh = B^units (eq. 7), T_exh = N_exh * t_eval (eq. 8)\n";
            std::set<std::string> shown;
            for (const auto& r : rows)
                if (shown.insert(r.granularity).second)
                    os << strf("  %-10s units %9.0f   log10 N_exh %12.3f   log10 T_exh[s] %12s\n", r.granularity.c_str(),
                               r.units, r.log10_n, num_or_dash(r.log10_t, "%.3f").c_str());
            os << "T_HAWX = t_prof + t_score + search wall time (measured); eq. 9: t_prof + t_score + evals * t_eval\n"
                  "speedup = T_exh / T_HAWX (estimated exhaustive time); measured = exhaustive search's wall time / "
                  "T_HAWX at the same threshold\n";
            os << strf("%-12s %5s %6s %6s %9s %9s %9s  %-10s %14s %14s %10s\n", "strategy", "drop", "evals", "cache",
                       "wall_s", "T_HAWX_s", "eq9_s", "level", "speedup", "speedup_eq9", "measured");
            for (const auto& r : rows) {
                const SearchResultRow& s = *r.search;
                os << strf("%-12s %5.2f %6.0f %6s %9.2f %9s %9s  %-10s %14s %14s %10s\n", shorten(s.strategy, 12).c_str(),
                           s.drop, s.evaluations, num_or_dash(s.cache_hits, "%.0f").c_str(), s.wall,
                           num_or_dash(r.t_hawx, "%.2f").c_str(), num_or_dash(r.t_eq9, "%.2f").c_str(),
                           r.granularity.c_str(), times(r.log10_speedup).c_str(), times(r.log10_speedup_eq9).c_str(),
                           std::isfinite(r.measured) ? strf("%.2fx", r.measured).c_str() : "-");
            }
            for (const auto& s : res->searches) {
                if (!s.exhaustive()) continue;
                const auto it = std::find_if(s.units.begin(), s.units.end(),
                                             [&](const auto& u) { return u.first == res->granularity; });
                if (it == s.units.end()) continue;
                const double n_exh = std::pow(static_cast<double>(res->blocks.size()), it->second);
                os << strf("exhaustive at drop %.2f: %.0f evaluations measured vs N_exh = %zu^%.0f = %.0f (eq. 7); wall "
                           "%.2f s vs T_exh = %s (eq. 8)\n",
                           s.drop, s.evaluations, res->blocks.size(), it->second, n_exh, s.wall,
                           num_or_dash(n_exh * res->t_eval, "%.2f s").c_str());
            }
        }
    }
    return os.str();
}

}  // namespace

namespace detail {

std::optional<TableI> table1(const JsonDoc& d, std::vector<std::string>& notes) {
    const json& ms = d.array_at(d.root, "", "model_scores");
    std::vector<std::pair<std::string, double>> candidates;
    for (std::size_t i = 0; i < ms.size(); ++i) {
        const std::string w = "model_scores[" + std::to_string(i) + "]";
        const double mean = d.number_at(ms[i], w, "mean");
        if (std::isfinite(mean) && mean > 0) candidates.emplace_back(d.string_at(ms[i], w, "block"), mean);
    }
    if (candidates.size() < 2) {
        notes.push_back(d.file + ": fewer than two blocks with a positive hawx(model): Table I skipped");
        return std::nullopt;
    }
    const auto by_mean = [](const auto& a, const auto& b) { return a.second < b.second; };
    const auto lo = *std::min_element(candidates.begin(), candidates.end(), by_mean);
    const auto hi = *std::max_element(candidates.begin(), candidates.end(), by_mean);
    TableI t;
    t.lo = lo.first;
    t.hi = hi.first;
    t.rows.push_back({"model", 0, "", "", -1, lo.second, hi.second});

    const json& layers = d.array_at(d.root, "", "layers");
    // A deep model gets 8 layers, evenly spaced, first and last included.
    std::vector<std::size_t> pick;
    const std::size_t L = layers.size(), kMaxLayers = 8;
    for (std::size_t i = 0; i < std::min(L, kMaxLayers); ++i) {
        const std::size_t l = L <= kMaxLayers ? i : (i * (L - 1) + (kMaxLayers - 1) / 2) / (kMaxLayers - 1);
        if (pick.empty() || pick.back() != l) pick.push_back(l);
    }
    for (std::size_t l : pick) {
        const std::string w = "layers[" + std::to_string(l) + "]";
        const json& layer = layers[l];
        const int index = static_cast<int>(d.number_at(layer, w, "index"));
        const std::string name = d.string_at(layer, w, "name");
        const json& scores = d.array_at(layer, w, "scores");
        const auto of_block = [&](const std::string& block) -> std::pair<double, std::vector<double>> {
            for (std::size_t b = 0; b < scores.size(); ++b) {
                const std::string wb = w + ".scores[" + std::to_string(b) + "]";
                if (d.string_at(scores[b], wb, "block") == block)
                    return {d.number_at(scores[b], wb, "mean"), d.numbers_at(scores[b], wb, "filter_mean")};
            }
            d.fail(w, "no scores of block " + block);
        };
        const auto [l_lo, f_lo] = of_block(t.lo);
        const auto [l_hi, f_hi] = of_block(t.hi);
        if (f_lo.size() != f_hi.size())
            d.fail(w, "filter_mean of " + t.lo + " has " + std::to_string(f_lo.size()) + " entries, of " + t.hi + " " +
                          std::to_string(f_hi.size()));
        t.rows.push_back({"layer", index, name, "", -1, l_lo, l_hi});
        if (f_hi.empty()) continue;
        // Sample filters: the first, and the least and most sensitive to the aggressive block.
        std::map<std::size_t, std::string> tags;
        tags[0] = "";
        std::size_t fmin = 0, fmax = 0;
        for (std::size_t f = 0; f < f_hi.size(); ++f) {
            if (f_hi[f] < f_hi[fmin]) fmin = f;
            if (f_hi[f] > f_hi[fmax]) fmax = f;
        }
        if (fmin != fmax) tags[fmin] += tags[fmin].empty() ? "min" : ",min";
        if (fmin != fmax) tags[fmax] += tags[fmax].empty() ? "max" : ",max";
        for (const auto& [f, tag] : tags)
            t.rows.push_back({"filter", index, name, tag, static_cast<long>(f), f_lo[f], f_hi[f]});
    }
    return t;
}

std::optional<ModelScores> model_scores(const RunFiles& f) {
    ModelScores m;
    if (f.model_scores) {
        const Csv& c = *f.model_scores;
        m.source = c.file;
        m.accuracy_label = "validation accuracy";
        const std::size_t cb = c.column("block"), cm = c.column("hawx_model_mean"), ca = c.column("validation_accuracy");
        for (std::size_t r = 0; r < c.rows.size(); ++r) m.rows.push_back({c.rows[r][cb], c.number(r, cm), c.number(r, ca)});
        return m;
    }
    if (!f.scores) return std::nullopt;
    const JsonDoc& d = *f.scores;
    const json& ms = d.array_at(d.root, "", "model_scores");
    bool measured = false;
    for (std::size_t i = 0; i < ms.size(); ++i) {
        const std::string w = "model_scores[" + std::to_string(i) + "]";
        const double acc = d.number_or(ms[i], w, "accuracy", kNaN);
        measured = measured || d.find(ms[i], w, "accuracy");
        m.rows.push_back({d.string_at(ms[i], w, "block"), d.number_at(ms[i], w, "mean"), acc});
    }
    if (!measured) return std::nullopt;
    m.source = d.file;
    m.accuracy_label = "test accuracy";
    return m;
}

Rho rho_of(const ModelScores& m) {
    std::vector<double> xs, ys;
    for (const auto& r : m.rows)
        if (std::isfinite(r.mean) && std::isfinite(r.accuracy)) xs.push_back(r.mean), ys.push_back(r.accuracy);
    Rho out;
    out.n = xs.size();
    if (xs.size() >= 2) out.rho = spearman(xs, ys);
    return out;
}

std::vector<RuntimeRow> runtime_rows(const Results& r) {
    std::vector<RuntimeRow> out;
    const double log_b = r.blocks.empty() ? kNaN : std::log10(static_cast<double>(r.blocks.size()));
    const double t_pre = (std::isfinite(r.t_prof) ? r.t_prof : 0.0) + (std::isfinite(r.t_score) ? r.t_score : 0.0);
    for (const auto& s : r.searches) {
        const SearchResultRow* exh = nullptr;
        for (const auto& e : r.searches)
            if (e.exhaustive() && std::abs(e.drop - s.drop) < 1e-9) exh = &e;
        for (const auto& [g, units] : s.units) {
            // An exhaustive search ran at the run's granularity only; so is its measured speedup.
            const bool run_level = g == r.granularity;
            if (s.exhaustive() && !run_level) continue;
            RuntimeRow row;
            row.search = &s;
            row.granularity = g;
            row.units = units;
            row.log10_n = units * log_b;
            row.log10_t = row.log10_n + std::log10(r.t_eval);  // NaN without t_eval
            if (!s.exhaustive()) {
                row.t_hawx = t_pre + s.wall;
                row.t_eq9 = t_pre + s.evaluations * r.t_eval;
                row.log10_speedup = row.log10_t - std::log10(row.t_hawx);
                row.log10_speedup_eq9 = row.log10_t - std::log10(row.t_eq9);
                if (exh && run_level) row.measured = exh->wall / row.t_hawx;
            }
            out.push_back(row);
        }
    }
    return out;
}

std::string table1_csv(const TableI& t) {
    std::string csv = "level,layer,name,filter,sample,block,hawx\n";
    for (const auto& r : t.rows)
        for (int k = 0; k < 2; ++k)
            csv += r.level + "," + (r.level == "model" ? "" : std::to_string(r.layer)) + "," + csv_field(r.name) + "," +
                   (r.filter >= 0 ? std::to_string(r.filter) : "") + "," + csv_field(r.tag) + "," +
                   csv_field(k == 0 ? t.lo : t.hi) + "," + exact_number(k == 0 ? r.lo : r.hi) + "\n";
    return csv;
}

json jnum(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string runtime_csv(const std::vector<RuntimeRow>& rows, const Results& r) {
    std::string csv = "strategy,max_drop,evaluations,cache_hits,wall_s,t_eval_s,t_prof_s,t_score_s,t_hawx_s,t_hawx_eq9_s,"
                      "granularity,units,log10_n_exh,log10_t_exh_s,log10_speedup,log10_speedup_eq9,measured_speedup\n";
    for (const auto& x : rows) {
        const SearchResultRow& s = *x.search;
        csv += csv_field(s.strategy) + "," + exact_number(s.drop) + "," + exact_number(s.evaluations) + "," + exact_number(s.cache_hits) + "," +
               exact_number(s.wall) + "," + exact_number(r.t_eval) + "," + exact_number(r.t_prof) + "," + exact_number(r.t_score) + "," + exact_number(x.t_hawx) + "," +
               exact_number(x.t_eq9) + "," + x.granularity + "," + exact_number(x.units) + "," + exact_number(x.log10_n) + "," + exact_number(x.log10_t) +
               "," + exact_number(x.log10_speedup) + "," + exact_number(x.log10_speedup_eq9) + "," + exact_number(x.measured) + "\n";
    }
    return csv;
}

}  // namespace detail

void print_report(const std::string& run_dir, std::ostream& out) {
    const RunFiles f = read_run(run_dir);
    out << report_text(f);  // composed first: a malformed file prints nothing
    out.flush();
}

}  // namespace hawx::report
