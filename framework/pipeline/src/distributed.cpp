#include "hawx/pipeline/distributed.hpp"

// The C API only (OpenMPI would otherwise pull in its deprecated C++ bindings).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cstdlib>

#include "hawx/sdk/error.hpp"

namespace hawx::pipeline::mpi {

namespace {

World g_world;
constexpr int kTagWork = 1, kTagResult = 2, kTagStop = 3;

// [count, then per configuration: granularity, layers, per layer: units, blocks...]
std::vector<int> pack(const std::vector<Configuration>& batch, std::size_t begin, std::size_t end) {
    std::vector<int> v{static_cast<int>(end - begin)};
    for (std::size_t i = begin; i < end; ++i) {
        const Configuration& c = batch[i];
        v.push_back(static_cast<int>(c.granularity));
        v.push_back(static_cast<int>(c.blocks.size()));
        for (const auto& units : c.blocks) {
            v.push_back(static_cast<int>(units.size()));
            v.insert(v.end(), units.begin(), units.end());
        }
    }
    return v;
}

std::vector<Configuration> unpack(const std::vector<int>& v) {
    std::size_t i = 0;
    const auto next = [&] {
        if (i >= v.size()) throw Error("mpi: truncated work message");
        return v[i++];
    };
    std::vector<Configuration> out(static_cast<std::size_t>(next()));
    for (auto& c : out) {
        c.granularity = static_cast<Granularity>(next());
        c.blocks.resize(static_cast<std::size_t>(next()));
        for (auto& units : c.blocks) {
            units.resize(static_cast<std::size_t>(next()));
            for (auto& b : units) b = next();
        }
    }
    return out;
}

void check(int rc, const char* what) {
    if (rc != MPI_SUCCESS) throw Error(std::string("mpi: ") + what + " failed");
}

}  // namespace

void init_if_launched(int* argc, char*** argv) {
    if (!std::getenv("OMPI_COMM_WORLD_SIZE") && !std::getenv("PMI_SIZE") && !std::getenv("PMIX_RANK")) return;
    check(MPI_Init(argc, argv), "MPI_Init");
    g_world.active = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_world.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_world.size);
}

void finalize() {
    if (g_world.active) MPI_Finalize();
    g_world.active = false;
}

void abort(int code) {
    if (g_world.active) MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
}

const World& world() { return g_world; }

void barrier() {
    if (g_world.active) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

std::vector<double> distribute(const std::vector<Configuration>& batch, const LocalEvaluator& local) {
    const int P = g_world.active ? g_world.size : 1;
    std::vector<double> out(batch.size());
    const auto part = [&](int r) { return batch.size() * static_cast<std::size_t>(r) / static_cast<std::size_t>(P); };
    for (int r = 1; r < P; ++r) {
        const std::vector<int> msg = pack(batch, part(r), part(r + 1));
        check(MPI_Send(msg.data(), static_cast<int>(msg.size()), MPI_INT, r, kTagWork, MPI_COMM_WORLD), "MPI_Send");
    }
    for (std::size_t i = part(0); i < part(1); ++i) out[i] = local(batch[i]);
    for (int r = 1; r < P; ++r) {
        const std::size_t n = part(r + 1) - part(r);
        check(MPI_Recv(out.data() + part(r), static_cast<int>(n), MPI_DOUBLE, r, kTagResult, MPI_COMM_WORLD,
                       MPI_STATUS_IGNORE),
              "MPI_Recv");
    }
    return out;
}

void serve(const LocalEvaluator& local) {
    for (;;) {
        MPI_Status st;
        check(MPI_Probe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &st), "MPI_Probe");
        int count = 0;
        MPI_Get_count(&st, MPI_INT, &count);
        std::vector<int> msg(static_cast<std::size_t>(count));
        check(MPI_Recv(msg.data(), count, MPI_INT, 0, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
        if (st.MPI_TAG == kTagStop) return;
        const std::vector<Configuration> work = unpack(msg);
        std::vector<double> acc;
        for (const auto& c : work) acc.push_back(local(c));
        check(MPI_Send(acc.data(), static_cast<int>(acc.size()), MPI_DOUBLE, 0, kTagResult, MPI_COMM_WORLD), "MPI_Send");
    }
}

void stop_workers() {
    if (!g_world.active) return;
    for (int r = 1; r < g_world.size; ++r) {
        int dummy = 0;
        check(MPI_Send(&dummy, 1, MPI_INT, r, kTagStop, MPI_COMM_WORLD), "MPI_Send");
    }
}

}  // namespace hawx::pipeline::mpi
