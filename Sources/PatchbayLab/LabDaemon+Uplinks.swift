import PatchbayControl
import PatchbayCore
import PatchbayDatapath
import PatchbayTopology
import PatchbayWire

extension LabDaemon {
  /// Every uplink of the lab for `patchbay nat`: NAT routers with their
  /// sessions, forwards, leases and counters; bridged and host-only ones by mode.
  func uplinkRecords(_ snapshots: [UplinkSnapshot]) -> [UplinkRecord] {
    let topology = lab.topology
    var records: [UplinkRecord] = []
    for uplink in topology.uplinks {
      let port =
        topology.switches.flatMap(\.ports).first { $0.kind == .uplink(name: uplink.name) }?
        .reference.description ?? "-"
      switch uplink.settings {
      case .nat:
        guard let snapshot = snapshots.first(where: { $0.name == uplink.name }) else { continue }
        records.append(natRecord(snapshot, port: port))
      case .bridge(let nic):
        records.append(UplinkRecord(name: uplink.name, mode: .bridge, port: port, interface: nic))
      case .hostOnly(let inside):
        records.append(
          UplinkRecord(
            name: uplink.name, mode: .hostOnly, port: port,
            interface: topology.hostOnlyInterface(ofUplink: uplink.name),
            insideAddress: inside.description))
      }
    }
    return records
  }

  private func natRecord(_ snapshot: UplinkSnapshot, port: String) -> UplinkRecord {
    let configuration = snapshot.configuration
    let now = snapshot.now
    let outside = configuration.outsideAddress?.address.description ?? "-"
    let sessions = snapshot.sessions.map { session in
      NATSessionRecord(
        transport: session.transport.description,
        inside: "\(session.insideAddress):\(session.insidePort)",
        outside: "\(outside):\(session.outsidePort)",
        remote: "\(session.remoteAddress):\(session.remotePort)",
        state: session.transport == .tcp
          ? session.tcpState.description : (session.hasReply ? "replied" : "unreplied"),
        forwarded: session.isForwarded,
        idleSeconds: Double(now.nanoseconds(since: session.lastUsed)) / 1e9,
        expiresInSeconds: Double(session.expiry.nanoseconds(since: now)) / 1e9,
        packetsOut: session.outboundPackets, packetsIn: session.inboundPackets)
    }
    let forwards = configuration.forwards.map {
      NATForwardRecord(
        transport: $0.transport.description, outsidePort: $0.outsidePort,
        inside: "\($0.insideAddress):\($0.insidePort)")
    }
    let leases = snapshot.leases.map { lease in
      DHCPLeaseRecord(
        mac: lease.hardwareAddress.description, address: lease.address.description,
        hostName: lease.hostName,
        expiresInSeconds: Double(lease.expiry.nanoseconds(since: now)) / 1e9,
        fixed: lease.isFixed, grants: lease.grantCount)
    }
    let statistics = snapshot.statistics
    var counters = NATCounters()
    counters.sessionsCreated = UInt64(snapshot.table.created)
    counters.sessionsExpired = UInt64(snapshot.table.expired)
    counters.sessionsEvicted = UInt64(snapshot.table.evicted)
    counters.translatedOut = statistics.translatedOut
    counters.translatedIn = statistics.translatedIn
    counters.icmpErrorsTranslated = statistics.icmpErrorsTranslated
    counters.answered = statistics.answered
    counters.ignored = statistics.ignored
    counters.neighboursInside = UInt64(snapshot.neighbours.inside)
    counters.neighboursOutside = UInt64(snapshot.neighbours.outside)
    counters.neighboursEvicted = UInt64(
      snapshot.neighbours.insideEvicted + snapshot.neighbours.outsideEvicted)
    counters.nicSentFrames = snapshot.nic.sentFrames
    counters.nicSentBytes = snapshot.nic.sentBytes
    counters.nicReceivedFrames = snapshot.nic.receivedFrames
    counters.nicSendFailures = snapshot.nic.sendFailures
    if let dhcp = snapshot.dhcp {
      var served = DHCPCounters()
      served.discovers = UInt64(dhcp.discovers)
      served.offers = UInt64(dhcp.offers)
      served.requests = UInt64(dhcp.requests)
      served.acks = UInt64(dhcp.acks)
      served.naks = UInt64(dhcp.naks)
      served.poolExhausted = UInt64(dhcp.poolExhausted)
      counters.dhcp = served
    }
    var drops = DropCounts(NATDropReason.allCases.map { (reason: $0, count: statistics[$0]) })
    // The session table counts the same refusals; its count, when it has one, is the one shown.
    if snapshot.table.portsExhausted > 0 {
      drops[.portsExhausted] = UInt64(snapshot.table.portsExhausted)
    }
    return UplinkRecord(
      name: snapshot.name, mode: .nat, port: port, interface: snapshot.interface,
      outsideAddress: configuration.outsideAddress?.description,
      outsideMAC: configuration.outsideMAC.description,
      insideAddress: configuration.insideAddress.description,
      insideMAC: configuration.insideMAC.description,
      gateway: configuration.gateway?.description,
      dnsServer: configuration.dnsServer?.description, maxSessions: snapshot.capacity,
      sessions: sessions, forwards: forwards, leases: leases, counters: counters, drops: drops)
  }
}
