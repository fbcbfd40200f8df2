import Foundation
import PatchbayCore
import Testing

@testable import PatchbayIO

/// The datapath thread between real TAPs: frames injected on one TAP's
/// interface with a packet socket come out of the others.
@Suite(.serialized, .enabled(if: canMakeInterfaces, "needs root with CAP_NET_ADMIN"))
struct DatapathTests {
  /// Sends `frames` (hex) on `interface`, through python3's AF_PACKET socket.
  func inject(_ frames: [String], on interface: String) throws {
    let script = """
      import socket, sys
      s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
      s.bind((sys.argv[1], 0))
      for frame in sys.argv[2:]:
          s.send(bytes.fromhex(frame))
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, interface] + frames
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
  }

  func waitUntil(_ condition: () -> Bool) -> Bool {
    for _ in 0..<200 {
      if condition() { return true }
      usleep(10_000)
    }
    return false
  }

  @Test func floodsLearnsAndForwardsBetweenTAPs() throws {
    let names = ["pbtest-dp0", "pbtest-dp1", "pbtest-dp2"]
    let taps = try names.map { name in
      let tap = try TapDevice.create(named: name)
      try tap.setUp()
      return tap
    }
    defer { taps.forEach { $0.close() } }
    let bridge = Bridge(
      name: "sw", ports: names.map { BridgePortConfiguration(name: $0) }, macTableSize: 16)
    let datapath = try Datapath(
      bridges: [bridge],
      ports: taps.enumerated().map {
        DatapathPort(descriptor: $1.descriptor.rawValue, switchIndex: 0, portIndex: $0)
      })
    datapath.start()
    defer { datapath.stop() }

    // A broadcast from a host behind port 0 floods to ports 1 and 2.
    let broadcast = "ffffffffffff" + "020000000a01" + "88b5" + String(repeating: "00", count: 46)
    try inject([broadcast], on: names[0])
    #expect(waitUntil { datapath.perform { $0.bridges[0].counters[2].transmittedPackets } >= 1 })
    // A reply from port 2 to the learned MAC goes to port 0 only.
    let reply = "020000000a01" + "020000000a03" + "88b5" + String(repeating: "00", count: 46)
    try inject([reply], on: names[2])
    #expect(waitUntil { datapath.perform { $0.bridges[0].counters[0].transmittedPackets } >= 1 })

    let counters = datapath.perform { $0.bridges[0].counters }
    let table = datapath.perform { $0.bridges[0].table.entries(at: MonotonicClock.now()) }
    // The kernel may add its own frames (IPv6 router solicitations) on these
    // up interfaces, so count only what this test sent: the learned entries.
    #expect(table.contains { $0.mac.description == "02:00:00:00:0a:01" && $0.port == 0 })
    #expect(table.contains { $0.mac.description == "02:00:00:00:0a:03" && $0.port == 2 })
    #expect(counters[0].receivedPackets >= 1)
    #expect(counters[2].receivedPackets >= 1)
    #expect(counters[0].transmittedPackets >= 1)
  }

  @Test func aVanishedInterfaceTakesOnlyItsPortDown() throws {
    let names = ["pbtest-dv0", "pbtest-dv1"]
    let taps = try names.map { name in
      let tap = try TapDevice.create(named: name)
      try tap.setUp()
      return tap
    }
    defer { taps.forEach { $0.close() } }
    let bridge = Bridge(name: "sw", ports: names.map { BridgePortConfiguration(name: $0) })
    let datapath = try Datapath(
      bridges: [bridge],
      ports: taps.enumerated().map {
        DatapathPort(descriptor: $1.descriptor.rawValue, switchIndex: 0, portIndex: $0)
      })
    datapath.start()
    defer { datapath.stop() }
    // Deleting the interface under the switch: the descriptor then reads EBADFD.
    let process = Process()
    process.executableURL = URL(fileURLWithPath: IPRoute.executable)
    process.arguments = ["link", "del", names[1]]
    try process.run()
    process.waitUntilExit()
    #expect(waitUntil { datapath.perform { !$0.bridges[0].ports[1].isUp } })
    #expect(datapath.perform { $0.bridges[0].ports[0].isUp })
  }
}
