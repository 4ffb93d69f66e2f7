#pragma once
// Evaluations spread over MPI ranks (`mpirun -np N hawx run MANIFEST`). Rank 0 owns the
// strategies, the logs and every file; the other ranks set up the same model and engine
// (deterministically), then evaluate the configurations rank 0 sends them until it says stop.
// Without mpirun (no launcher environment) MPI is never initialized and everything runs in
// one process.
#include <functional>
#include <vector>

#include <hawx/sdk/configuration.hpp>

namespace hawx::pipeline::mpi {

struct World {
    int rank = 0;
    int size = 1;
    bool active = false;  ///< MPI was initialized (launched by mpirun)
};

/// Initializes MPI when the process was started by an MPI launcher; otherwise does nothing.
void init_if_launched(int* argc, char*** argv);
/// Finalizes MPI when it was initialized.
void finalize();
/// Ends every rank with `code` (an error on one rank must not leave the others waiting).
[[noreturn]] void abort(int code);
const World& world();
void barrier();

/// Validation accuracy of one configuration on this rank.
using LocalEvaluator = std::function<double(const Configuration&)>;

/// Rank 0: evaluates `batch` split into contiguous parts, one per rank (contiguous, so each
/// rank keeps the prefix locality of a lexicographic batch); returns accuracies in order.
std::vector<double> distribute(const std::vector<Configuration>& batch, const LocalEvaluator& local);
/// Other ranks: evaluate what rank 0 sends until stop_workers().
void serve(const LocalEvaluator& local);
/// Rank 0: releases the other ranks from serve().
void stop_workers();

}  // namespace hawx::pipeline::mpi
