// Runs K frames of one benchmark scenario through the bridge, for instruction
// counting under valgrind (`measure-instructions.sh`): run it twice with
// different K and divide the difference of the totals by the difference of K.
// The loop is the benchmark's (`ForwardingRun.forwardNext` and friends, consumed
// by an opaque sink like `blackHole`), so the counts are the same code's.
//
// Usage: ForwardingCount SCENARIO K
//   SCENARIO: access-256, access-10000, access-1000000, pop-10000, push-10000, batch-10000
//   (32 frames from one port per call), harness

import ForwardingFixtures
import Glibc
import PatchbayCore

/// Consumes a value where the optimizer cannot see (as `Benchmark.blackHole`).
@_optimize(none)
func sink(_: some Any) {}

// Named without mangling so `valgrind --toggle-collect=pb_measured_*` can find them.
@_silgen_name("pb_measured_forward")
@inline(never)
func measuredForward(_ run: inout ForwardingRun, _ frames: Int) {
  for _ in 0..<frames { sink(run.forwardNext()) }
}

@_silgen_name("pb_measured_forward_write")
@inline(never)
func measuredForwardAndWrite(_ run: inout ForwardingRun, _ frames: Int) {
  for _ in 0..<frames { sink(run.forwardAndWriteNext()) }
}

@_silgen_name("pb_measured_forward_batch")
@inline(never)
func measuredForwardBatch(_ run: inout ForwardingRun, _ frames: Int) {
  for _ in 0..<frames / run.batch { sink(run.forwardBatch()) }
}

@_silgen_name("pb_measured_harness")
@inline(never)
func measuredHarness(_ run: inout ForwardingRun, _ frames: Int) {
  for _ in 0..<frames { sink(run.harnessNext()) }
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let frames = Int(arguments[2]), frames >= 0 else {
  print("usage: ForwardingCount access-256|access-10000|access-1000000|pop-10000|push-10000|batch-10000|harness K")
  exit(2)
}
let name = arguments[1]
let scenario: Scenario
switch name {
case "access-256": scenario = .access(macs: 256)
case "access-10000": scenario = .access(macs: 10_000)
case "access-1000000": scenario = .access(macs: 1_000_000)
case "pop-10000": scenario = .trunkToAccess(macs: 10_000)
case "push-10000": scenario = .accessToTrunk(macs: 10_000)
case "batch-10000": scenario = .access(macs: 10_000)
case "harness": scenario = .access(macs: 256)
default:
  print("unknown scenario \(name)")
  exit(2)
}

// 32 frames per batch: the datapath's receive batch (`Datapath.receiveBatch`).
let fixture = ForwardingFixture(scenario, batch: name.hasPrefix("batch-") ? 32 : 1)
var run = fixture.take()
switch name {
case "pop-10000", "push-10000": measuredForwardAndWrite(&run, frames)
case "batch-10000": measuredForwardBatch(&run, frames)
case "harness": measuredHarness(&run, frames)
default: measuredForward(&run, frames)
}
fixture.put(run)
