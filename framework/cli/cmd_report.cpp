// hawx report: the tables of a run folder in the terminal, and its plots (re)rendered.
#include <iostream>

#include "commands.hpp"
#include "hawx/report/report.hpp"

namespace po = boost::program_options;

namespace hawx::cli {

int report_command(const Args& args) {
    po::options_description opts("options");
    std::string dir;
    bool no_plots = false;
    opts.add_options()("no-plots", po::bool_switch(&no_plots), "print the tables only; write nothing")(
        "run-dir", po::value(&dir)->required(), "run folder written by hawx run (or hawx score)");
    po::positional_options_description pos;
    pos.add("run-dir", 1);
    po::variables_map vm;
    if (!parse_args(args,
                    "usage: hawx report RUN_DIR [--no-plots]\n"
                    "Prints the Table I and Table II analogs, Spearman's rho of hawx(model) vs accuracy and the search\n"
                    "runtime comparison with exhaustive search (eq. 7-9), then writes the figure data, gnuplot scripts\n"
                    "and the tables as CSV/JSON into RUN_DIR/plots/ and renders PNG and SVG when gnuplot is installed.\n"
                    "Missing files skip their part with a notice; see docs/report.md.",
                    opts, &pos, vm))
        return 0;
    report::print_report(dir, std::cout);
    if (no_plots) return 0;
    std::cout << "\n== plots\n";
    const std::vector<std::string> written = report::render_plots(dir, std::cout);
    std::size_t images = 0;
    for (const auto& w : written)
        if (w.size() > 4 && (w.compare(w.size() - 4, 4, ".png") == 0 || w.compare(w.size() - 4, 4, ".svg") == 0)) ++images;
    std::cout << written.size() << " files written to " << dir << "/plots (" << images << " images)\n";
    return 0;
}

}  // namespace hawx::cli
