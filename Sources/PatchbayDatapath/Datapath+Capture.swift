import CPcap
import Glibc
import PatchbayCore
import PatchbayWire

/// One capture or mirror watching one port: what the datapath does with a
/// frame crossing that port. Plain values and pointers only, so reading one
/// per frame costs no reference counting.
public struct CaptureTap: @unchecked Sendable {
  // Sendable: the ring has its own two-thread protocol, and the filter's
  // instructions are only read.
  /// The capture's ring; nil for a mirror.
  var ring: CaptureRing?
  /// A mirror's monitor port (global index); -1 for a capture.
  var mirrorPort: Int
  /// The port's interface ID in the capture's pcapng.
  var interfaceID: UInt32
  /// Takes frames received from the port.
  var takesInbound: Bool
  /// Takes frames sent to the port.
  var takesOutbound: Bool
  /// The compiled filter, nil for all frames; kept alive by whoever added the tap.
  var filter: UnsafePointer<bpf_insn>?
  /// The most bytes kept of a frame.
  var snaplen: Int

  /// A capture's tap.
  public init(
    ring: CaptureRing, interfaceID: UInt32, direction: CaptureDirection,
    filter: PacketFilter?, snaplen: Int
  ) {
    self.ring = ring
    self.mirrorPort = -1
    self.interfaceID = interfaceID
    self.takesInbound = direction != .out
    self.takesOutbound = direction != .in
    self.filter = filter?.instructions
    self.snaplen = snaplen
  }

  /// A mirror's tap: both directions copied to `monitor`.
  public init(mirroringTo monitor: Int, filter: PacketFilter?) {
    self.ring = nil
    self.mirrorPort = monitor
    self.interfaceID = 0
    self.takesInbound = true
    self.takesOutbound = true
    self.filter = filter?.instructions
    self.snaplen = Int.max
  }
}

// Capture and mirroring in the datapath. A port with taps has a flag per
// direction; an untapped port pays one byte load per direction. A tapped frame
// runs each tap's filter where it lies, so a frame that does not match is
// never copied; one that matches is written as a whole pcapng block straight
// into the capture's ring, or sent to the monitor port. Nothing here waits:
// a full ring loses the copy (counted), never the switched frame.
extension Datapath {
  /// Adds a group of taps (one capture, or one mirror), each on its global
  /// port, under `group`. Runs on the datapath thread between batches.
  public func addTaps(_ entries: [(port: Int, tap: CaptureTap)], group: Int) {
    perform { datapath in
      datapath.tapGroups[group] = entries
      datapath.rebuildTaps()
    }
  }

  /// Removes `group`'s taps; once this returns the datapath no longer touches
  /// their rings or filters.
  public func removeTaps(group: Int) {
    perform { datapath in
      datapath.tapGroups[group] = nil
      datapath.rebuildTaps()
    }
  }

  private func rebuildTaps() {
    var byPort = Array(repeating: [CaptureTap](), count: ports.count)
    for group in tapGroups.keys.sorted() {
      for (port, tap) in tapGroups[group]! { byPort[port].append(tap) }
    }
    taps = byPort.flatMap { $0 }
    var start = 0
    for port in ports.indices {
      tapRanges[port] = start..<start + byPort[port].count
      start += byPort[port].count
      isTappedIn[port] = byPort[port].contains { $0.takesInbound }
      isTappedOut[port] = byPort[port].contains { $0.takesOutbound }
    }
  }

  /// A frame received on `global`, as it came (its virtio-net header just before it).
  @inline(never)
  func tapArriving(_ frame: UnsafeRawBufferPointer, port global: Int, at now: Instant) {
    record(frame, port: global, direction: .inbound, at: now)
  }

  /// A frame the switch sends to `global`, framed for it (`length` bytes on
  /// the wire). A frame that leaves as it came is read where it lies; one that
  /// gains or loses a tag is framed into a scratch buffer first.
  @inline(never)
  func tapLeaving(
    _ frame: UnsafeRawBufferPointer, _ encapsulation: EgressEncapsulation, length: Int,
    port global: Int, at now: Instant
  ) {
    if encapsulation.isIdentity {
      record(frame, port: global, direction: .outbound, at: now)
      return
    }
    let copy = captureScratch + Datapath.headroom
    _ = encapsulation.write(frame, into: copy)
    VirtioNetHeader(unchecked: frame.baseAddress! - VirtioNetHeader.byteCount)
      .shifted(by: length - frame.count).store(to: copy - VirtioNetHeader.byteCount)
    record(
      UnsafeRawBufferPointer(start: copy, count: length), port: global, direction: .outbound,
      at: now)
  }

  /// Runs every tap of `global` that takes `direction` on `frame` (wire bytes,
  /// virtio-net header just before them).
  @inline(__always)
  func record(
    _ frame: UnsafeRawBufferPointer, port global: Int, direction: Pcapng.Direction,
    at now: Instant
  ) {
    var timestamp: UInt64 = 0
    for index in tapRanges[global] {
      let tap = taps[index]
      guard direction == .inbound ? tap.takesInbound : tap.takesOutbound else { continue }
      if let filter = tap.filter, !PacketFilter.run(filter, on: frame) {
        tap.ring?.countFiltered()
        continue
      }
      guard let ring = tap.ring else {
        mirror(frame, to: tap.mirrorPort, at: now)
        continue
      }
      let captured = min(frame.count, tap.snaplen)
      guard let (destination, head) = ring.reserve(Pcapng.packetBlockLength(captured: captured))
      else {
        ring.countLost()
        continue
      }
      // One clock read per tapped frame, shared by its taps.
      if timestamp == 0 { timestamp = WallClock.nanoseconds() }
      Pcapng.writePacketBlock(
        to: destination, interface: tap.interfaceID, timestamp: timestamp, direction: direction,
        frame: frame.baseAddress!, captured: captured, originalLength: frame.count)
      ring.commit(head)
    }
  }

  /// Sends a copy of `frame` (virtio-net header just before it) out of the
  /// monitor port `global`, past the switch and its limits: counted there as
  /// sent, or dropped with the reason. Captures of the monitor port see the
  /// copy too (a monitor port without offloads, an IDS or tcpdump, gets
  /// wire-sized frames with complete checksums, and its captures see those
  /// segments). The topology refuses a monitor port among any mirror's
  /// sources, so this reaches captures only and never recurses further.
  private func mirror(_ frame: UnsafeRawBufferPointer, to global: Int, at now: Instant) {
    let target = ports[global]
    guard target.descriptor >= 0, bridges[target.switchIndex].ports[target.portIndex].isUp else {
      bridges[target.switchIndex].countTransmitDrop(.portDown, on: target.portIndex)
      return
    }
    // The copy may lie in a scratch buffer the next frame reuses: never batched.
    leave(framed: frame, port: global, at: now, isStable: false)
  }
}
