#pragma once
// CLI subcommands. Each returns the process exit status; user errors are thrown as
// hawx::Error (main prints them as one line and exits 2).
#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace hawx::cli {

using Args = std::vector<std::string>;

int plugins_command(const Args& args);
int blocks_command(const Args& args);
int run_command(const Args& args);
int train_command(const Args& args);
int eval_command(const Args& args);
int finetune_command(const Args& args);
int score_command(const Args& args);
int report_command(const Args& args);

/// Parses `args` against `options` (+ positional); prints `usage` and the options and
/// returns false when --help was given.
bool parse_args(const Args& args, const std::string& usage, boost::program_options::options_description& options,
                const boost::program_options::positional_options_description* positional,
                boost::program_options::variables_map& vm);

}  // namespace hawx::cli
