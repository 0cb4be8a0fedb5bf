#pragma once

namespace cc::app {

/// @brief The `cc-inbound` command line: serve (default), migrate, healthcheck, and the
/// operator subcommands `domains` and `keys`, which use the same service code as the
/// admin API. Returns the process exit code (2 for a bad setting or usage).
int run_cli(int argc, char** argv);

}  // namespace cc::app
