// The forwarding decision per frame: parse, VLAN classification, learning (a
// refresh of a known source), lookup of a known destination, at 256, 10k and 1M
// learned MACs; and the same at 10k MACs with a VLAN tag popped or pushed and the
// frame written out with its egress encapsulation.
//
// Each benchmark iteration sends 1000 frames (`scalingFactor: .kilo`), so the
// scaled figures (marked `*`) are per frame.

import Benchmark
import Foundation
import ForwardingFixtures
import PatchbayCore

let benchmarks: @Sendable () -> Void = {
  // Retain/release counting installs runtime hooks that crash under Swift 6.3
  // on Linux without the runtime interposer, which the local package mirror
  // lacks (ordo-one/benchmark issue 349): it is opt-in with
  // PATCHBAY_BENCH_ARC=1. measure-instructions.sh shows the same thing more
  // directly: no retain or release entry point executes inside the loop.
  let countARC = ProcessInfo.processInfo.environment["PATCHBAY_BENCH_ARC"] == "1"
  Benchmark.defaultConfiguration = .init(
    metrics: [.instructions, .mallocCountTotal, .wallClock, .throughput]
      + (countARC ? [.retainCount, .releaseCount] : []),
    timeUnits: .nanoseconds,
    warmupIterations: 100,
    scalingFactor: .kilo,
    maxDuration: .seconds(2),
    maxIterations: 1_000_000
  )

  /// Registers a benchmark over a fixture that is built in setup (the 1M-MAC one
  /// takes a moment and ~150 MB: a 41 MB table and a 64 MB ring) and freed in teardown.
  func register(
    _ name: String, _ scenario: Scenario,
    body: @escaping @Sendable (Benchmark, inout ForwardingRun) -> Void
  ) {
    let holder = FixtureHolder()
    Benchmark(
      name,
      configuration: .init(
        setup: { holder.fixture = ForwardingFixture(scenario) },
        teardown: { holder.fixture = nil })
    ) { benchmark in
      let fixture = holder.fixture!
      var run = fixture.take()
      body(benchmark, &run)
      fixture.put(consume run)
    }
  }

  for macs in [256, 10_000, 1_000_000] {
    register("Forward, \(macs) MACs", .access(macs: macs)) { benchmark, run in
      for _ in benchmark.scaledIterations {
        blackHole(run.forwardNext())
      }
    }
  }

  register("VLAN pop trunk to access, 10000 MACs", .trunkToAccess(macs: 10_000)) { benchmark, run in
    for _ in benchmark.scaledIterations {
      blackHole(run.forwardAndWriteNext())
    }
  }

  register("VLAN push access to trunk, 10000 MACs", .accessToTrunk(macs: 10_000)) { benchmark, run in
    for _ in benchmark.scaledIterations {
      blackHole(run.forwardAndWriteNext())
    }
  }

  // Proof that the counters count here: exactly one allocation, one retain and
  // one release per iteration of the inner loop. If this reads 0, the zeros above
  // mean nothing.
  Benchmark("Control: 1 malloc, 1 retain, 1 release per frame") { benchmark in
    for _ in benchmark.scaledIterations {
      let box = Box()
      let retained = Unmanaged.passUnretained(box).retain()
      blackHole(box)
      retained.release()
    }
  }

  // The loop and `blackHole` alone, walking the same ring and clock: subtract it
  // from the others for the cost of the decision itself.
  register("Harness only (loop + blackHole)", .access(macs: 256)) { benchmark, run in
    for _ in benchmark.scaledIterations {
      blackHole(run.harnessNext())
    }
  }
}

/// Holds a benchmark's fixture between its setup and teardown.
final class FixtureHolder: @unchecked Sendable {
  var fixture: ForwardingFixture?
}

/// A heap object for the control benchmark.
final class Box {
  var value = 0
}
