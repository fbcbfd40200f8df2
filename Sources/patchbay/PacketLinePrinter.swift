import Foundation
import PatchbayLab
import PatchbayWire

/// `patchbay capture` without `-w`: one line per frame, like tcpdump's:
/// time, port, direction, length, addresses and protocol.
struct PacketLinePrinter {
  private let interfaceNames: [String]

  /// Reads the interface names from the capture's pcapng header.
  init(header: [UInt8]) {
    interfaceNames = PcapngReader.interfaceNames(in: header)
  }

  /// Prints a line for each Enhanced Packet Block in `blocks`.
  func print(blocks: UnsafeRawBufferPointer) {
    var lines = ""
    for packet in PcapngReader.packets(in: blocks) {
      let port =
        packet.interface < interfaceNames.count ? interfaceNames[packet.interface] : "?"
      let seconds = Double(packet.timestamp) / 1e9
      let time = PacketLinePrinter.clock(seconds)
      let direction = packet.direction == .inbound ? "in " : "out"
      lines += "\(time) \(port) \(direction) \(packet.originalLength) \(describe(packet.data))\n"
    }
    FileHandle.standardOutput.write(Data(lines.utf8))
  }

  private static func clock(_ seconds: Double) -> String {
    let whole = Int(seconds)
    let micro = Int((seconds - Double(whole)) * 1e6)
    var time = tm()
    var t = time_t(whole)
    localtime_r(&t, &time)
    return String(
      format: "%02d:%02d:%02d.%06d", Int(time.tm_hour), Int(time.tm_min), Int(time.tm_sec), micro)
  }

  private func describe(_ data: UnsafeRawBufferPointer) -> String {
    guard let frame = try? EthernetFrame(validating: data) else { return "runt" }
    var text = "\(frame.source) > \(frame.destination)"
    if let tag = frame.outerTag { text += " vlan \(tag.vlanID)" }
    let type = frame.payloadType
    switch type {
    case .ipv4:
      guard let packet = try? IPv4Packet(validating: frame.payload) else { return text + " IPv4" }
      return text + " IPv4 \(packet.source) > \(packet.destination) \(name(of: packet.protocol))"
    case .arp: return text + " ARP"
    case .ipv6: return text + " IPv6"
    default: return text + " ethertype \(type)"
    }
  }

  private func name(of protocolNumber: IPProtocol) -> String {
    switch protocolNumber {
    case .tcp: return "TCP"
    case .udp: return "UDP"
    case .icmp: return "ICMP"
    default: return "protocol \(protocolNumber.rawValue)"
    }
  }
}
