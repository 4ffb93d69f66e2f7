#pragma once
// `hawx report`: the paper's tables and figures rebuilt from the files of a run folder
// (docs/report.md lists the files, their columns and the plots).
#include <ostream>
#include <string>
#include <vector>

namespace hawx::report {

/// Prints, from RUN_DIR: the Table I analog (scores.json: hawx(l) per layer and hawx(f) of
/// sample filters for the least and the most aggressive block by hawx(model)), the Table II
/// analog (results.json), Spearman's rho of hawx(model) vs accuracy (model_scores.csv), and
/// the search runtime comparison with exhaustive search (eq. 7-9 of the paper; measured when
/// results.json holds an `exhaustive` search). Writes nothing.
/// A missing file skips its section with a notice line in `out` (older or partial runs);
/// a missing RUN_DIR or a malformed file throws hawx::Error naming the file, before anything
/// is printed.
void print_report(const std::string& run_dir, std::ostream& out);

/// Writes gnuplot data (.dat), scripts (.gp) and the tables as CSV/JSON into RUN_DIR/plots/
/// (created when absent; each file atomically), then, when `gnuplot` is on PATH, renders every
/// script to PNG and SVG. Figures: fig2_activations, fig3_score_distribution_<block> and
/// fig3_score_distribution_model, fig4_score_vs_accuracy, fig5_tradeoff_<accelerator>.
/// Missing inputs skip their figure with a notice in `notices`; without gnuplot one notice
/// line says the plots were skipped. Every input is read and checked before anything is
/// written; a malformed one throws hawx::Error naming the file. A script gnuplot rejects
/// throws hawx::Error naming the script (after the other figures were rendered).
/// Returns the paths written (data, scripts, tables, images). Never writes outside plots/.
std::vector<std::string> render_plots(const std::string& run_dir, std::ostream& notices);

}  // namespace hawx::report
