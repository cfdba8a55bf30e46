#pragma once

// squib-bench oneway / oneway-pingpong: the host-mode paths of scripts/bench, where frames go
// from VM A to VM B through a bridge instead of being echoed (docs/performance.md, "Host
// path").
//
//   squib-bench oneway|oneway-pingpong
//       (--tx-tap IFNAME | --tx-target PATH --tx-local PATH)    A: where frames go in
//       (--rx-tap IFNAME | --rx-target PATH --rx-local PATH)    B: where they come out
//       --src-mac MAC --src-ip IPV4 --dst-mac MAC --dst-ip IPV4 [--vnet-hdr] [--gso]
//       [--size S] [--duration SEC | --frames N] [--label TEXT] [--ready-timeout SEC]
//       [--pingpong SEC] [--cpu-of PID]...
//
// Frames are what a guest would send to a neighbour: Ethernet A → B, IPv4 A → B (A's address
// is its lease, so squib-netd's anti-spoofing — SourceGuard for relayed attachments, the nft
// table for handed-off TAPs — passes them), UDP 40000 → 40001 carrying a 64-bit sequence
// number. The receiver counts only frames of exactly --size bytes addressed to B's MAC and
// UDP port 40001; anything else on B (ARP answers, floods) is counted as `other`.
// --gso: TCP/IPv4 instead (same ports), one TSO super-frame per frame (oneway.cpp Options).
//
// Before measuring, the path is made ready and proven: B sends an ARP request from its own
// MAC and address (the bridge learns B's port, so nothing floods; a relay learns B's VMM
// address), then A sends a probe; this repeats every 100 ms until a probe arrives at B
// (a TAP just opened gets its carrier through the kernel's link watch, up to a second
// later), or --ready-timeout (default 5 s) passes: then exit 1.
//
// oneway: open loop, one direction. A thread writes batches of 32 frames into A as fast as A
// takes them (a TAP write never blocks; a socket send blocks while the relay's queue is
// full, as QEMU's does), the other reads B. Prints one JSON object: sent, received,
// drops = sent - received after a 200 ms drain, frames_per_s and mbit_per_s measured at the
// receiver (received frames over the time from the first send to the last receive), and
// with --cpu-of the CPU time those processes (the relays) used during the run per received
// frame (relay_cpu_ns_per_frame; /proc/PID/task/*/schedstat); always the generator's own CPU
// time per received frame (gen_cpu_ns_per_frame, getrusage: both threads, and for a TAP the
// bridge's work that the kernel does in the writer's context). CPU per frame is far less
// disturbed by other load on the machine than frames per second.
// With --pingpong SEC, oneway then runs the ping-pong below for SEC on the same open path
// (a second JSON line), saving the second path set-up.
// oneway-pingpong: window 1: a frame A → B, B answers B → A (UDP 40001 → 40000), the round
// trip is timed at A. Prints p50/p90/p99/max in microseconds.
// --settle SEC (oneway): after the path is ready, B stays silent for SEC before the run, so a
// bridge's learned entry for B's port ages out when the bridge's ageing time is below SEC
// (the "aged receiver" of scripts/bench's many-VM paths).
//
// The many-VM paths' other VMMs:
//   squib-bench blast  (A only) A → B for --duration, nothing read, as fast as A takes them
//                      or at --rate frames/s; prints sent.
//   squib-bench vm     (B only: --rx-target/--rx-local, --dst-mac/--dst-ip its own,
//                      --src-ip whom its one ARP asks for) announces itself with one ARP
//                      request, then reads and discards until SIGTERM — or with --stalled
//                      never reads (its socket fills; the relay counts vm_full drops).

namespace squib::bench {

// argv[1] is the command; returns the process exit code.
int oneway_main(int argc, char** argv);

}  // namespace squib::bench
