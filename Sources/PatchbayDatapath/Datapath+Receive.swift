import CLinuxNet
import Glibc
import PatchbayCore
import PatchbayWire

// A frame's way in, up to the switch's decision: reading a ready port (a TAP
// or socket pair a burst of reads into the receive slots, a packet socket in
// recvmmsg batches; decided in batches where the port has no stop before the
// switch, Datapath+Batches.swift),
// admission (virtio-net header and MTU), the ingress capture tap and rate
// limit, and the bridge's forward / flood / drop, which hands each frame to
// the egress path (Datapath+Egress.swift). Also a port's going and coming
// back: a packet socket whose interface vanished is detached, reopened when
// it returns (checked once a second), or held down on purpose.

extension Datapath {
  /// Reads `port` until EAGAIN or a burst's worth, forwarding each frame.
  @inline(__always)
  func service(port global: Int, at now: Instant) {
    if ports[global].kind == .packetSocket {
      serviceBatches(port: global, at: now)
    } else {
      serviceReadBatches(port: global, at: now)
    }
  }

  /// Reads a packet-socket port in batches of `receiveBatch` frames per
  /// `recvmmsg`, up to a burst, forwarding each frame.
  func serviceBatches(port global: Int, at now: Instant) {
    let source = ports[global]
    var total = 0
    while total < Datapath.burst {
      let count = pb_packet_receive_batch(
        source.descriptor, slots, Int32(Datapath.receiveBatch), UInt32(Datapath.headroom))
      if count < 0 {
        if -count == EINTR { continue }
        // ENETDOWN, ENXIO: the interface went down or away.
        detach(port: global)
        return
      }
      if count == 0 { return }
      var frames = 0
      for index in 0..<Int(count) {
        let frame = UnsafeRawBufferPointer(slots[index].restoredFrame())
        guard frame.count > 0 else {
          bridges[source.switchIndex].countRejected(.runt, byteCount: 0, on: source.portIndex)
          continue
        }
        batchFrames[frames] = frame
        frames += 1
      }
      deliver(frames, from: source, port: global, at: now)
      total += Int(count)
      if count < Datapath.receiveBatch { return }
    }
  }

  /// Reopens packet-socket ports whose interface has come back (checked once a
  /// second), and brings them up again.
  func reattachPacketSockets() {
    for global in ports.indices
    where ports[global].kind == .packetSocket && ports[global].descriptor < 0
      && !isHeldDown[global]
    {
      guard let name = attachedInterfaces[global], pb_if_index(name) != 0 else { continue }
      _ = pb_if_set_up(name, 1)
      var index: Int32 = 0
      let fd = pb_packet_open(name, &index)
      guard fd >= 0 else { continue }
      guard (try? epoll.add(fd, token: UInt64(global))) != nil else {
        Glibc.close(fd)
        continue
      }
      if workers.isActive && workers.fanoutGroups[global] != 0 {
        _ = pb_packet_join_fanout(fd, workers.fanoutGroups[global])
      }
      ports[global].descriptor = fd
      sinks[global] = PortSink(ports[global], batch: sendQueues[global])
      bridges[ports[global].switchIndex].setPort(ports[global].portIndex, isUp: true)
      portEvents.append(
        PortEvent(port: global, isUp: true, cause: .interfaceReturned, at: lastTurn))
    }
  }

  /// Switches a frame read from port `global`'s interface (its virtio-net
  /// header just before it), unless `FrameAdmission` refuses it.
  @inline(__always)
  func admit(
    _ frame: UnsafeRawBufferPointer, from source: DatapathPort, port global: Int, at now: Instant
  ) {
    guard isAdmitted(frame, from: source, port: global) else { return }
    handle(frame, switchIndex: source.switchIndex, port: source.portIndex, at: now, depth: 0)
  }

  /// Switches one frame received on `port` of switch `switchIndex`.
  func handle(
    _ frame: UnsafeRawBufferPointer, switchIndex: Int, port ingress: Int, at now: Instant,
    depth: Int
  ) {
    let global = portBase[switchIndex] + ingress
    if handsOff[global] {
      handOff(frame, .arriving, port: global, classified: IngressFrame(rawValue: 0))
      return
    }
    if isTappedIn[global] { tapArriving(frame, port: global, at: now) }
    if isIngressLimited[global] && holdsBack(arriving: frame, port: global, at: now) { return }
    switchFrame(frame, switchIndex: switchIndex, port: ingress, at: now, depth: depth)
  }

  /// Switches a frame that passed its port's ingress limit.
  func switchFrame(
    _ frame: UnsafeRawBufferPointer, switchIndex: Int, port ingress: Int, at now: Instant,
    depth: Int
  ) {
    let (decision, classified) = bridges[switchIndex].process(frame, on: ingress, at: now)
    act(
      on: decision, frame, classified, switchIndex: switchIndex, port: ingress, at: now,
      depth: depth)
  }

  /// Sends `frame`, received on `port` of switch `switchIndex` and classified
  /// as `classified`, where `decision` says.
  @inline(__always)
  func act(
    on decision: ForwardingDecision, _ frame: UnsafeRawBufferPointer, _ classified: IngressFrame,
    switchIndex: Int, port ingress: Int, at now: Instant, depth: Int
  ) {
    switch decision {
    case .forward(let egress, _):
      transmit(
        frame, classified, switchIndex: switchIndex, port: egress, at: now, depth: depth,
        isExclusive: true)
    case .flood(let vlan):
      var sent = 0
      for egress in 0..<bridges[switchIndex].portCount
      where bridges[switchIndex].floods(to: egress, vlan: vlan, from: ingress) {
        if bridges[switchIndex].refusesEgress(on: egress, of: classified) {
          bridges[switchIndex].countTransmitDrop(.doubleTagged, on: egress)
          continue
        }
        transmit(frame, classified, switchIndex: switchIndex, port: egress, at: now, depth: depth)
        sent += 1
      }
      if sent == 0 { bridges[switchIndex].countUndelivered(on: ingress) }
    case .drop:
      break
    }
  }

  /// Takes packet-socket port `global` down and keeps it down while its
  /// interface stays (a VM's TAP outlives its QEMU until the lab stops):
  /// counted as a link down, its MACs flushed.
  public func holdDown(port global: Int) {
    perform { datapath in
      datapath.isHeldDown[global] = true
      if datapath.ports[global].descriptor >= 0 {
        datapath.detach(port: global, cause: .heldDown)
      } else {
        let entry = datapath.ports[global]
        let wasUp = datapath.bridges[entry.switchIndex].ports[entry.portIndex].isUp
        datapath.bridges[entry.switchIndex].setPort(entry.portIndex, isUp: false)
        if wasUp {
          datapath.portEvents.append(
            PortEvent(port: global, isUp: false, cause: .heldDown, at: datapath.lastTurn))
        }
      }
    }
  }

  func detach(port global: Int, cause: PortEvent.Cause = .interfaceLost) {
    let entry = ports[global]
    epoll.remove(entry.descriptor)
    // A TAP keeps its descriptor when it goes down, so it may be detached again (held
    // down after it failed): one event, as one link down.
    if bridges[entry.switchIndex].ports[entry.portIndex].isUp {
      portEvents.append(PortEvent(port: global, isUp: false, cause: cause, at: lastTurn))
    }
    bridges[entry.switchIndex].setPort(entry.portIndex, isUp: false)
    // A packet socket is closed and reopened when its interface returns; a TAP
    // the switch owns cannot return, and its descriptor is closed with the lab.
    if entry.kind == .packetSocket {
      Glibc.close(entry.descriptor)
      ports[global].descriptor = -1
      sinks[global] = PortSink(ports[global], batch: sendQueues[global])
    }
  }
}
