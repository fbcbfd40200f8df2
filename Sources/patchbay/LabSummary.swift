import PatchbayLab
import PatchbayTopology

/// What `up` prints once a lab is ready: what it built and what to try.
enum LabSummary {
  static func ready(_ topology: Topology, detached: Bool) -> String {
    var lines = ["lab \(topology.name) is up"]
    for switchSpec in topology.switches {
      lines.append("  switch \(switchSpec.name): \(switchSpec.ports.count) ports")
      for port in switchSpec.ports {
        var line = "    \(port.reference)"
        switch port.kind {
        case .tap(let interface): line += "  tap \(interface)"
        case .attach(let interface): line += "  attached to \(interface)"
        case .peer(let other): line += "  patch cable to \(other)"
        case .uplink(let name): line += "  uplink \(name)"
        }
        if let host = topology.host(on: port.reference) {
          line += "  -> host \(host.name) (\(host.address?.description ?? "no address"))"
        } else if let vm = topology.vm(on: port.reference) {
          line += "  -> vm \(vm.name)"
        }
        lines.append(line)
      }
    }
    for uplink in topology.uplinks {
      switch uplink.settings {
      case .nat(let nat):
        lines.append(
          "  uplink \(uplink.name): NAT on \(nat.interface) as \(nat.address), "
            + "lab gateway \(nat.inside.address)"
            + (nat.dhcp.map { ", DHCP \($0.rangeStart)-\($0.rangeEnd)" } ?? ""))
      case .bridge(let nic):
        lines.append("  uplink \(uplink.name): bridged onto \(nic)")
      case .hostOnly(let inside):
        lines.append(
          "  uplink \(uplink.name): host-only, \(topology.hostOnlyInterface(ofUplink: uplink.name)) "
            + "has \(inside)")
      }
    }
    for host in topology.hosts {
      guard let veth = host.veth else { continue }
      lines.append(
        "  host \(host.name) (\(host.address?.description ?? "no address")) sits behind veth \(veth)"
      )
    }
    let paths = LabPaths(name: topology.name)
    if !topology.hosts.isEmpty {
      lines.append(
        "  hosts run in network namespaces: \(topology.hosts.map { paths.namespace(ofHost: $0.name) }.joined(separator: ", "))"
      )
    }
    for vm in topology.vms {
      lines.append(
        "  vm \(vm.name) boots under QEMU (\(QEMUEnvironment.accelerator(for: vm))), "
          + "console \(paths.console(ofVM: vm.name))")
    }
    lines.append("try, from another terminal:")
    let fixedHosts = topology.hosts.compactMap { host -> (String, String)? in
      if case .fixed(let cidr) = host.address { return (host.name, cidr.address.description) }
      return nil
    }
    if fixedHosts.count >= 2 {
      lines.append(
        "  sudo patchbay exec \(topology.name) \(fixedHosts[0].0) -- ping -c3 \(fixedHosts[1].1)")
    }
    if let outside = topology.hosts.first(where: { $0.veth != nil }),
      case .fixed(let cidr) = outside.address,
      let inside = topology.hosts.first(where: { $0.port != nil }),
      topology.uplinks.contains(where: { $0.mode == .nat })
    {
      lines.append(
        "  sudo patchbay exec \(topology.name) \(inside.name) -- ping -c3 \(cidr.address)")
      lines.append("  sudo patchbay nat \(topology.name)")
    }
    if let vm = topology.vms.first {
      lines.append("  sudo patchbay console \(topology.name) \(vm.name)")
    }
    lines.append("  sudo patchbay status \(topology.name)")
    lines.append("  sudo patchbay fdb \(topology.name)")
    lines.append(
      detached
        ? "  sudo patchbay down \(topology.name)     # stops the lab and removes everything"
        : "press Ctrl-C here to stop the lab and remove everything")
    return lines.joined(separator: "\n")
  }
}
