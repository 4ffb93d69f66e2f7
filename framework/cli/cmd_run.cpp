#include <iostream>

#include "commands.hpp"
#include "hawx/pipeline/pipeline.hpp"
#include "hawx/report/report.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/framework/block_report.hpp"
#include "hawx/framework/io.hpp"
#include "hawx/framework/manifest.hpp"

namespace po = boost::program_options;

namespace hawx::cli {

int run_command(const Args& args) {
    po::options_description opts("options");
    std::string path;
    bool dry_run = false, fresh = false;
    opts.add_options()("dry-run", po::bool_switch(&dry_run), "validate and print the resolved manifest; write nothing")(
        "new", po::bool_switch(&fresh), "start a new run folder even if an unfinished run of this experiment exists")(
        "manifest", po::value(&path)->required(), "manifest file");
    po::positional_options_description pos;
    pos.add("manifest", 1);
    po::variables_map vm;
    if (!parse_args(args,
                    "usage: hawx run MANIFEST [options]\n"
                    "Validates the whole manifest and instantiates every component it names. With a 'model', runs the\n"
                    "HAWX pipeline: train (when the checkpoint is not cached) or load the model, calibrate int8, profile\n"
                    "representatives and score every block, search each strategy at each accuracy threshold, map the\n"
                    "results onto the accelerator models, and print the Table II analog. An interrupted run is resumed\n"
                    "by the same command (from its search logs); a finished run folder is never overwritten.\n"
                    "Without a 'model', characterizes the blocks into a new run folder under output.dir.",
                    opts, &pos, vm))
        return 0;
    // Everything is validated before anything is built or written.
    const pipeline::ManifestSetup setup = pipeline::open_manifest(path);
    const Manifest& m = setup.manifest();
    const ResolvedManifest& resolved = *setup.resolved;
    const Instances& inst = setup.instances;
    if (m.experiment.model && !dry_run) {
        pipeline::PipelineOptions popt;
        popt.fresh = fresh;
        const std::string dir = pipeline::run_pipeline(setup, popt);
        if (dir.empty()) return 0;  // an MPI worker rank
        std::cout << "\n";
        report::print_report(dir, std::cout);
        try {
            const std::vector<std::string> plots = report::render_plots(dir, std::cout);
            if (!plots.empty()) std::cout << "plots: " << dir << "/plots (" << plots.size() << " files)\n";
        } catch (const Error& e) {
            std::cout << "notice: plots not rendered: " << e.what() << "\n";
        }
        std::cout << "\nrun folder: " << dir << " (results.json, table2.csv, scores.json, search/*.jsonl; "
                  << "hawx report " << dir << " re-prints and re-renders)\n";
        return 0;
    }
    std::vector<BlockRow> rows;
    for (std::size_t i = 0; i < inst.blocks.size(); ++i)
        rows.push_back(characterize_row(inst.blocks[i].first, block_origin(resolved, i), inst.blocks[i].second));

    const nlohmann::json rj = resolved.to_json();
    std::cout << "resolved manifest:\n" << rj.dump(2) << "\n\n";
    std::cout << "components: " << inst.blocks.size() << " block(s)" << (inst.metric ? ", 1 metric" : "")
              << (inst.search ? ", 1 search strategy" : "") << ", " << inst.accelerators.size()
              << " accelerator model(s)\n\n";
    std::cout << format_block_table(rows);
    if (dry_run) return 0;

    const std::string dir = create_run_dir(m.output_dir, m.name);
    nlohmann::json blocks = nlohmann::json::array();
    for (const auto& r : rows) blocks.push_back(to_json(r));
    write_file_atomic(dir + "/manifest.resolved.json", rj.dump(2) + "\n");
    write_file_atomic(dir + "/blocks.json", blocks.dump(2) + "\n");
    write_file_atomic(dir + "/blocks.csv", format_block_csv(rows));
    std::cout << "\nrun folder: " << dir << "\n";
    return 0;
}

}  // namespace hawx::cli
