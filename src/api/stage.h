// The stages that the settings ask for: BENCHFS_STAGE_IN inside
// benchfs_init, BENCHFS_STAGE_OUT inside benchfs_finalize.  The C API of
// staging (benchfs_stage_in, benchfs_stage_out) is in stage.cc too.
#pragma once

namespace benchfs {

// Runs BENCHFS_STAGE_IN if set.  0, or the errno of the first problem when
// BENCHFS_STAGE_ERRORS=fail.  Collective; BenchFS must be running.
int stage_in_from_settings();
// Runs BENCHFS_STAGE_OUT if set (0 when BenchFS is not running).  Same
// result.  Collective.
int stage_out_from_settings();

}  // namespace benchfs
