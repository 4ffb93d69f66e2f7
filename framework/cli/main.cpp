// hawx: the command-line front end of the framework.
#include <cstdio>
#include <iostream>

#include "cmd_import_c.hpp"
#include "commands.hpp"
#include "hawx/framework/openmp_policy.hpp"
#include "hawx/pipeline/distributed.hpp"
#include "hawx/framework/plugin_manager.hpp"
#include "hawx/sdk/version.hpp"

namespace po = boost::program_options;

namespace hawx::cli {


bool parse_args(const Args& args, const std::string& usage, po::options_description& options,
                const po::positional_options_description* positional, po::variables_map& vm) {
    po::options_description all;
    all.add_options()("help,h", "show this help");
    all.add(options);
    po::command_line_parser parser(args);
    parser.options(all);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    if (vm.count("help")) {
        std::cout << usage << "\n" << all << "\n";
        return false;
    }
    po::notify(vm);
    return true;
}

namespace {

const char* kUsage =
    "usage: hawx <command> [options]\n"
    "\n"
    "commands:\n"
    "  plugins list [--json]                 every plugin library and component, with parameter schemas\n"
    "  blocks list [--manifest M] [--json]   one line per approximate block, with its error and cost\n"
    "  blocks show NAME [--set k=v]...       full characterization of one block\n"
    "  blocks export NAME --out FILE.bin     write a block as a TFApprox-layout table + JSON sidecar\n"
    "  blocks import-c FILE... [--out DIR]   turn EvoApproxLib-style C circuits into table blocks\n"
    "  run MANIFEST                          validate a manifest, instantiate its components, write a run folder\n"
    "  train --model M --out CKPT            train a zoo model (lenet5, vgg11, resnet18, efficientnet_lite0) in float\n"
    "  eval --checkpoint C [--config S]      accuracy in float, int8-exact and with approximate blocks (bit-exact)\n"
    "  finetune --checkpoint C --config S    fine-tune through the approximate forward; accuracy before and after\n"
    "  score --checkpoint C --manifest M     representatives, gradient profile, hawx scores of every block\n"
    "  report RUN_DIR [--no-plots]          tables of a run folder; plots (re)rendered into RUN_DIR/plots\n"
    "\n"
    "Run 'hawx <command> --help' for the options of a command.\n";

int dispatch(const Args& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::cout << kUsage;
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version") {
        std::cout << "hawx " << HAWX_SDK_VERSION_STRING << " (SDK ABI " << HAWX_SDK_ABI_VERSION << ", build "
                  << core_build_id() << ")\n";
        return 0;
    }
    const Args rest(args.begin() + 1, args.end());
    if (args[0] == "plugins") return plugins_command(rest);
    if (args[0] == "blocks") {
        if (!rest.empty() && rest[0] == "import-c") return import_c_command(Args(rest.begin() + 1, rest.end()));
        return blocks_command(rest);
    }
    if (args[0] == "run") return run_command(rest);
    if (args[0] == "train") return train_command(rest);
    if (args[0] == "eval") return eval_command(rest);
    if (args[0] == "finetune") return finetune_command(rest);
    if (args[0] == "score") return score_command(rest);
    if (args[0] == "report") return report_command(rest);
    throw Error("unknown command '" + args[0] + "' (commands: plugins, blocks, run, train, eval, finetune, score, report; see hawx --help)");
}

}  // namespace
}  // namespace hawx::cli

int main(int argc, char** argv) {
    hawx::prefer_passive_openmp(argv);
    namespace mpi = hawx::pipeline::mpi;
    mpi::init_if_launched(&argc, &argv);
    const hawx::cli::Args args(argv + 1, argv + argc);
    // Under mpirun an error on any rank must end all of them (the others would wait forever).
    const auto fail = [](int code) {
        if (mpi::world().active && mpi::world().size > 1) mpi::abort(code);
        mpi::finalize();
        return code;
    };
    try {
        const int rc = hawx::cli::dispatch(args);
        mpi::finalize();
        return rc;
    } catch (const hawx::Error& e) {
        std::cerr << "hawx: " << e.what() << "\n";
        return fail(2);
    } catch (const po::error& e) {
        std::cerr << "hawx: " << e.what() << " (see --help)\n";
        return fail(2);
    } catch (const std::exception& e) {
        std::cerr << "hawx: internal error: " << e.what() << "\n";
        return fail(3);
    }
}
