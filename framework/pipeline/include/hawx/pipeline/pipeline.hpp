#pragma once
/// \file
/// The experiment pipeline behind `hawx run` for a manifest that names a model: train or load
/// the model, calibrate int8, profile representatives and score every block (metric plugin),
/// search (each strategy x each accuracy threshold, resumable from its log), map the chosen
/// configurations onto the accelerator models, and write the run folder.
#include <string>

#include "hawx/pipeline/experiment.hpp"

namespace hawx::pipeline {

struct PipelineOptions {
    bool fresh = false;  ///< never resume an unfinished run folder of the same manifest
};

/// Runs the pipeline; returns the run folder ("" on MPI ranks other than 0). Throws
/// hawx::Error for bad input (checked before anything is written where possible; a failure
/// later leaves the run folder marked unfinished, and the same command resumes it).
std::string run_pipeline(const ManifestSetup& setup, const PipelineOptions& options);

}  // namespace hawx::pipeline
