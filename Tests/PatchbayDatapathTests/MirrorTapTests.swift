import PatchbayCore
import PatchbayWire
import Testing

@testable import PatchbayDatapath

/// A mirror on a port copies what the port receives and what it is sent to
/// the monitor port, past the switch, and counts the copies there.
@Suite struct MirrorTapTests {
  @Test func copiesBothDirectionsToTheMonitorPort() throws {
    // Port 2 is the monitor: the switch floods and forwards nothing to it.
    let lab = try LoopbackLab(portCount: 3) { $0.makeMonitor(2) }
    lab.datapath.addTaps([(port: 0, tap: CaptureTap(mirroringTo: 2, filter: nil))], group: 1)

    let out = testFrame(to: 2, from: 1, sequence: 1)
    try lab.ports[0].inject(out)
    lab.turn()
    let back = testFrame(to: 1, from: 2, sequence: 2, length: 80)
    try lab.ports[1].inject(back)
    lab.turn()

    #expect(lab.ports[1].receiveAll() == [out])
    #expect(lab.ports[0].receiveAll() == [back])
    // The frame port 0 received, then the frame it was sent.
    #expect(lab.ports[2].receiveAll() == [out, back])
    #expect(lab.counters(2).transmittedPackets == 2)
    #expect(lab.counters(2).transmittedBytes == 140)
  }

  @Test func aFilteredMirrorCopiesOnlyMatchingFrames() throws {
    let lab = try LoopbackLab(portCount: 3) { $0.makeMonitor(2) }
    let filter = try PacketFilter("ether src 02:00:00:00:00:02")
    lab.datapath.addTaps([(port: 0, tap: CaptureTap(mirroringTo: 2, filter: filter))], group: 1)
    try lab.ports[0].inject(testFrame(to: 2, from: 1))
    lab.turn()
    let back = testFrame(to: 1, from: 2, sequence: 7)
    try lab.ports[1].inject(back)
    lab.turn()
    #expect(lab.ports[2].receiveAll() == [back])
    withExtendedLifetime(filter) {}
  }

  @Test func removingTheTapStopsTheCopies() throws {
    let lab = try LoopbackLab(portCount: 3) { $0.makeMonitor(2) }
    lab.datapath.addTaps([(port: 0, tap: CaptureTap(mirroringTo: 2, filter: nil))], group: 1)
    lab.datapath.removeTaps(group: 1)
    try lab.ports[0].inject(testFrame(to: 2, from: 1))
    lab.turn()
    #expect(lab.ports[1].receiveAll().count == 1)
    #expect(lab.ports[2].receiveAll().isEmpty)
    #expect(lab.counters(2).transmittedPackets == 0)
  }
}
