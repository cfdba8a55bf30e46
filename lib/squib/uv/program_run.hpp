#pragma once

// run_program: runs a short-lived program (nft, …) to completion without the loop ever
// waiting for it. The program reads `input` on stdin; its stdout and stderr are collected on
// the loop; after `timeout` it is SIGKILLed. `done` runs once, on the loop, after the child
// has exited and both of its output pipes reached EOF: with stdout on exit status 0, or an
// Error carrying stderr (or the signal, or "timed out").
//
// Fire and forget: the run owns its handles and frees itself after `done`. `done` may also
// run before run_program returns (the program could not be spawned).

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <uv.h>

#include <squib/core/result.hpp>

namespace squib::uv {

struct ProgramRun {
  std::string program;            // absolute path
  std::vector<std::string> args;  // argv[1..]
  std::string input;              // written to its stdin, which is then closed
  std::chrono::milliseconds timeout{5'000};
};

void run_program(uv_loop_t* loop, ProgramRun run, std::function<void(core::Result<std::string>)> done);

}  // namespace squib::uv
