#pragma once
/// \file
/// LibTorch runs its operators on OpenMP threads that spin-wait after each parallel region;
/// the engine's kernels run on TBB workers. On a machine with few cores the spinning threads
/// take the cores from the TBB workers (a gather kernel ran at half speed: 2.9 ms against
/// 1.4 ms with passive waiting). libgomp reads OMP_WAIT_POLICY only when it is loaded, so a
/// program sets it by re-executing itself.

namespace hawx {

/// Keeps freed heap memory in the process (glibc mallopt: large blocks come from the heap
/// rather than fresh mmaps, and the heap is not trimmed) so that tensors allocated per
/// forward pass do not page-fault anew each time. Idempotent; prefer_passive_openmp calls it.
void retain_freed_memory();

/// Call first in main(): calls retain_freed_memory(), then, unless OMP_WAIT_POLICY is set
/// (the user's choice is kept), sets it to PASSIVE and re-executes the program
/// (/proc/self/exe, same arguments and environment otherwise). Returns only when nothing had
/// to be done or the re-execution failed.
void prefer_passive_openmp(char** argv);

}  // namespace hawx
