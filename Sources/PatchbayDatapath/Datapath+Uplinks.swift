import CLinuxNet
import Glibc
import PatchbayCore
import PatchbayWire
import SystemPackage

/// A NAT uplink as the datapath runs it: the router, the packet socket on the
/// physical NIC, and the switch port that is its lab side.
public struct DatapathUplink: Sendable {
  /// The uplink's name in the topology.
  public var name: String
  /// The router (pure state; the datapath owns it once started).
  public var router: UplinkRouter
  /// The physical NIC's name, for reopening the socket when it comes back.
  public var interface: String
  /// The packet socket on it (-1 while the interface is missing); the datapath closes it.
  public var descriptor: Int32
  /// The global index of the uplink's switch port.
  public var port: Int
  /// What crossed the physical NIC.
  public var nic = UplinkNICCounters()

  /// Makes an uplink entry.
  public init(
    name: String, router: UplinkRouter, interface: String, descriptor: Int32, port: Int
  ) {
    self.name = name
    self.router = router
    self.interface = interface
    self.descriptor = descriptor
    self.port = port
  }
}

/// What crossed a NAT uplink's physical NIC.
public struct UplinkNICCounters: Sendable, Equatable {
  /// Frames sent out of the NIC.
  public var sentFrames: UInt64 = 0
  /// Bytes sent out of the NIC.
  public var sentBytes: UInt64 = 0
  /// Frames read from the NIC (the router ignores most: the NIC is promiscuous).
  public var receivedFrames: UInt64 = 0
  /// Sends the NIC refused (queue full, interface down).
  public var sendFailures: UInt64 = 0

  /// No frames yet.
  public init() {}
}

/// A copy of one NAT uplink's state for `patchbay nat`, taken between batches.
public struct UplinkSnapshot: Sendable {
  /// The uplink's name.
  public var name: String
  /// The physical NIC.
  public var interface: String
  /// The router's configuration.
  public var configuration: UplinkRouterConfiguration
  /// Live sessions, least recently used first.
  public var sessions: [NATSession]
  /// The session table's counters.
  public var table: NATTableStatistics
  /// The table's capacity.
  public var capacity: Int
  /// Router counters.
  public var statistics: UplinkRouterStatistics
  /// The neighbour tables' fill and evictions.
  public var neighbours: NeighbourStatistics
  /// DHCP leases in force.
  public var leases: [DHCPLease]
  /// DHCP server counters, if it has one.
  public var dhcp: DHCPServerStatistics?
  /// What crossed the physical NIC.
  public var nic: UplinkNICCounters
  /// When the snapshot was taken, on the datapath's clock.
  public var now: Instant
}

extension Datapath {
  /// Lets each router resolve its gateway before the first frame needs it.
  func startRouters(at now: Instant) {
    for index in routers.indices { routers[index].start(at: now) }
    flushRouterOutput(at: now)
  }

  /// Once a second: session timeouts, ARP retries, and reopening a NIC that came back.
  func tickRouters(at now: Instant) {
    for index in routers.indices {
      routers[index].tick(at: now)
      if uplinks[index].descriptor < 0 { reopenUplink(index) }
    }
  }

  /// Hands a frame the switch sent to an uplink port to its router: rewritten
  /// where it lies when nobody else needs it, else copied (framed for the
  /// port) into the router's scratch buffer first.
  func deliverToRouter(
    _ frame: UnsafeRawBufferPointer, _ encapsulation: EgressEncapsulation, length: Int,
    port global: Int, router: Int, inPlace: Bool, at now: Instant
  ) {
    let target = ports[global]
    let header = frame.baseAddress! - VirtioNetHeader.byteCount
    let bytes: UnsafeMutableRawBufferPointer
    let headerPointer: UnsafeMutableRawPointer
    if inPlace {
      bytes = UnsafeMutableRawBufferPointer(mutating: frame)
      headerPointer = UnsafeMutableRawPointer(mutating: header)
    } else {
      let copy = routerScratch + Datapath.headroom
      _ = encapsulation.write(frame, into: copy)
      headerPointer = copy - VirtioNetHeader.byteCount
      VirtioNetHeader(unchecked: header).shifted(by: length - frame.count).store(to: headerPointer)
      bytes = UnsafeMutableRawBufferPointer(start: copy, count: length)
    }
    bridges[target.switchIndex].countTransmitted(byteCount: length, on: target.portIndex)
    let verdict = routers[router].receiveFromInside(
      bytes, header: VirtioNetHeader(unchecked: headerPointer), at: now)
    if case .toOutside = verdict {
      sendOutside(uplink: router, header: headerPointer, length: length)
    }
  }

  /// Writes one frame, its virtio-net header just before it, to the uplink's NIC.
  @inline(__always)
  private func sendOutside(uplink index: Int, header: UnsafeRawPointer, length: Int) {
    let descriptor = uplinks[index].descriptor
    let outcome =
      descriptor < 0
      ? .down
      : FrameWrite.write(
        FileDescriptor(rawValue: descriptor), header, count: length + VirtioNetHeader.byteCount)
    if outcome == .sent {
      uplinks[index].nic.sentFrames &+= 1
      uplinks[index].nic.sentBytes &+= UInt64(length)
    } else {
      uplinks[index].nic.sendFailures &+= 1
    }
  }

  /// Reads the uplink's NIC in batches, giving each frame to the router and
  /// switching what it translated into the lab as received on the uplink port.
  func serviceUplink(_ index: Int, at now: Instant) {
    let descriptor = uplinks[index].descriptor
    guard descriptor >= 0 else { return }
    let port = ports[uplinks[index].port]
    var total = 0
    while total < Datapath.burst {
      let count = pb_packet_receive_batch(
        descriptor, slots, Int32(Datapath.receiveBatch), UInt32(Datapath.headroom))
      if count < 0 {
        if -count == EINTR { continue }
        closeUplink(index)
        return
      }
      if count == 0 { return }
      isQueueingSends = true
      for slot in 0..<Int(count) {
        let frame = slots[slot].restoredFrame()
        guard let start = frame.baseAddress, frame.count > 0 else { continue }
        uplinks[index].nic.receivedFrames &+= 1
        let verdict = routers[index].receiveFromOutside(
          frame, header: VirtioNetHeader(unchecked: start - VirtioNetHeader.byteCount), at: now)
        if case .toInside = verdict {
          handle(
            UnsafeRawBufferPointer(frame), switchIndex: port.switchIndex, port: port.portIndex,
            at: now, depth: 0)
        }
      }
      isQueueingSends = false
      flushSends()
      total += Int(count)
      if count < Datapath.receiveBatch { return }
    }
  }

  /// Sends what the routers made or released (ARP, ping and DHCP answers,
  /// frames that waited for ARP). Frames for the lab enter the switch as
  /// received on the uplink port; a few passes, since one may cause another.
  func flushRouterOutput(at now: Instant) {
    for _ in 0..<4 {
      var sent = false
      for index in routers.indices where routers[index].hasOutput {
        sent = true
        for frame in routers[index].takeOutput() {
          let count = min(frame.bytes.count, Datapath.bufferSize)
          let start = routerOutput + Datapath.headroom
          frame.bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: count) }
          frame.header.store(to: start - VirtioNetHeader.byteCount)
          if frame.leavesOutside {
            sendOutside(uplink: index, header: start - VirtioNetHeader.byteCount, length: count)
          } else {
            let port = ports[uplinks[index].port]
            handle(
              UnsafeRawBufferPointer(start: start, count: count), switchIndex: port.switchIndex,
              port: port.portIndex, at: now, depth: 0)
          }
        }
      }
      if !sent { return }
    }
  }

  private func closeUplink(_ index: Int) {
    let descriptor = uplinks[index].descriptor
    guard descriptor >= 0 else { return }
    epoll.remove(descriptor)
    Glibc.close(descriptor)
    uplinks[index].descriptor = -1
  }

  /// Reopens the packet socket of an uplink whose NIC has come back.
  private func reopenUplink(_ index: Int) {
    let name = uplinks[index].interface
    guard pb_if_index(name) != 0 else { return }
    _ = pb_if_set_up(name, 1)
    var interfaceIndex: Int32 = 0
    let descriptor = pb_packet_open(name, &interfaceIndex)
    guard descriptor >= 0 else { return }
    guard (try? epoll.add(descriptor, token: Datapath.uplinkTokenBase + UInt64(index))) != nil
    else {
      Glibc.close(descriptor)
      return
    }
    uplinks[index].descriptor = descriptor
  }
}
