import PatchbayWire

extension Topology {
  /// A one-screen description for `patchbay validate`: switches with their ports, hosts with
  /// their addresses, VMs with what they boot, counts of the rest.
  public var summary: String {
    var lines = ["lab \(name) (\(sourcePath))"]
    if !adaptsBusyPoll {
      lines[0] += busyPoll == .zero ? ", busy-poll off" : ", busy-poll \(formatDuration(busyPoll))"
    }
    if let datapathThreads {
      lines[0] += ", \(datapathThreads) datapath thread\(datapathThreads == 1 ? "" : "s")"
    }
    for switchSpec in switches {
      var settings: [String] = []
      if switchSpec.macAging != SwitchSpec.defaultMACAging {
        settings.append("mac-aging \(formatDuration(switchSpec.macAging))")
      }
      if switchSpec.macTableSize != SwitchSpec.defaultMACTableSize {
        settings.append("mac-table-size \(switchSpec.macTableSize)")
      }
      let count = switchSpec.ports.count
      settings.insert("\(count) \(count == 1 ? "port" : "ports")", at: 0)
      lines.append("switch \(switchSpec.name): \(settings.joined(separator: ", "))")
      for port in switchSpec.ports {
        lines.append("  \(port.name): \(portSummary(port))")
      }
    }
    if !hosts.isEmpty {
      lines.append("hosts:")
      for host in hosts {
        let place = host.port.map { "on \($0)" } ?? "on veth \(host.veth ?? "")"
        var parts = [place, host.address?.description ?? "no address"]
        if let gateway = host.gateway { parts.append("gateway \(gateway)") }
        parts.append("mac \(macAddress(of: host))\(host.mac == nil ? " (derived)" : "")")
        if let run = host.run { parts.append("runs '\(run)'") }
        lines.append("  \(host.name) \(parts.joined(separator: ", "))")
      }
    }
    if !vms.isEmpty {
      lines.append("vms:")
      for vm in vms {
        var parts = ["on \(vm.ports.map(\.description).joined(separator: ", "))"]
        if let kernel = vm.kernel { parts.append("kernel \(kernel)") }
        if let disk = vm.disk { parts.append("disk \(disk)") }
        let memory =
          vm.memory % (1 << 20) == 0 ? "\(vm.memory >> 20)MiB" : "\(vm.memory >> 10)KiB"
        parts.append("\(memory), \(vm.cpus) \(vm.cpus == 1 ? "cpu" : "cpus")")
        if let accel = vm.accel { parts.append(accel) }
        parts.append("mac \(macAddress(of: vm, nic: 0))\(vm.mac == nil ? " (derived)" : "")")
        lines.append("  \(vm.name) \(parts.joined(separator: ", "))")
      }
    }
    lines.append(
      "vms: \(vms.count), uplinks: \(uplinks.count), captures: \(captures.count), "
        + "mirrors: \(mirrors.count)")
    return lines.joined(separator: "\n")
  }

  private func portSummary(_ port: PortSpec) -> String {
    var parts = [kindSummary(port.kind)]
    if port.vlanMode != .access(vlan: 1) { parts.append(vlanSummary(port.vlanMode)) }
    if let rate = port.rate { parts.append("rate " + rate.summary) }
    let security = port.security
    if let maxMACs = security.maxMACs { parts.append("max-macs \(maxMACs)") }
    for (isOn, key) in [
      (security.macLock, "mac-lock" + (security.lockedMAC.map { " \($0)" } ?? "")),
      (security.ipGuard, "ip-guard" + (security.guardedAddress.map { " \($0)" } ?? "")),
      (security.dhcpGuard, "dhcp-guard"), (security.isProtected, "protected"),
    ] where isOn {
      parts.append(key)
    }
    if port.mtu != PortSpec.defaultMTU { parts.append("mtu \(port.mtu)") }
    if !port.acceptsOffloads { parts.append("offload false") }
    return parts.joined(separator: ", ")
  }

  /// A stable locally-administered unicast MAC for host `hostName` of this lab.
  ///
  /// Derived rather than random so that a lab brought down and up again keeps its ARP caches
  /// and DHCP leases valid: first octet 0x02, the other five from FNV-1a 64 of `LAB/HOST`.
  public func defaultMAC(forHost hostName: String) -> MACAddress {
    derivedMAC("\(name)/\(hostName)")
  }

  /// The host's MAC: the one it sets, or the derived default.
  public func macAddress(of host: HostSpec) -> MACAddress {
    host.mac ?? defaultMAC(forHost: host.name)
  }

  /// The MAC of a VM's vNIC `nic` (0-based): the VM's `mac` for the first, else
  /// `52:54:00` (QEMU's prefix, so guests and tools recognise a virtual NIC) and
  /// three bytes derived from `LAB/VM/NIC`, so that QEMU's single default MAC
  /// never appears twice on a switch and a VM keeps its MAC (and its DHCP
  /// lease) from one `up` to the next.
  public func macAddress(of vm: VMSpec, nic: Int) -> MACAddress {
    if nic == 0, let mac = vm.mac { return mac }
    let derived = derivedMAC("\(name)/\(vm.name)/\(nic)").rawValue & 0xFF_FFFF
    return MACAddress(rawValue: 0x5254_0000_0000 | derived)
  }

  /// The MACs of NAT uplink `uplink`'s router: its lab side and its own
  /// address on the physical network, derived from `LAB/UPLINK/inside|outside`.
  public func routerMACs(ofUplink uplink: String) -> (inside: MACAddress, outside: MACAddress) {
    (derivedMAC("\(name)/\(uplink)/inside"), derivedMAC("\(name)/\(uplink)/outside"))
  }

  /// The root-namespace interface of host-only uplink `uplink`: `LAB-UPLINK`,
  /// cut to the kernel's 15 characters.
  public func hostOnlyInterface(ofUplink uplink: String) -> String {
    String("\(name)-\(uplink)".prefix(ValueFormat.maximumInterfaceNameLength))
  }

  private func derivedMAC(_ key: String) -> MACAddress {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in key.utf8 {
      hash ^= UInt64(byte)
      hash &*= 0x0000_0100_0000_01B3
    }
    // Fold the high bits in: FNV's low bits alone mix the last bytes poorly.
    let low40 = (hash ^ (hash >> 40)) & 0xFF_FFFF_FFFF
    return MACAddress(rawValue: 0x02_0000_0000_00 | low40)
  }
}

/// `tap lab1-vm1`, `attach vnet7`, `uplink internet`, `peer dist/isl`.
func kindSummary(_ kind: PortKind) -> String {
  switch kind {
  case .tap(let interface): return "tap \(interface)"
  case .attach(let interface): return "attach \(interface)"
  case .uplink(let name): return "uplink \(name)"
  case .peer(let reference): return "peer \(reference)"
  }
}

/// `vlan 10`, `trunk 10,20 native 10 tagged`, `trunk all`, `dot1q-tunnel 300`.
func vlanSummary(_ mode: VLANMode) -> String {
  switch mode {
  case .access(let vlan):
    return "vlan \(vlan)"
  case .trunk(let allowed, let native, let nativeTagged):
    var text: String
    switch allowed {
    case .all: text = "trunk all"
    case .only(let vlans): text = "trunk \(compressedVLANs(vlans))"
    }
    if let native { text += " native \(native)\(nativeTagged ? " tagged" : "")" }
    return text
  case .dot1qTunnel(let serviceVLAN, let tagType):
    return "dot1q-tunnel \(serviceVLAN)" + (tagType == .serviceVLAN ? "" : " type 0x8100")
  }
}

/// `10,20,100-199` from sorted VLAN ids.
func compressedVLANs(_ vlans: [UInt16]) -> String {
  var parts: [String] = []
  var index = 0
  while index < vlans.count {
    var end = index
    while end + 1 < vlans.count, vlans[end + 1] == vlans[end] + 1 { end += 1 }
    parts.append(end == index ? "\(vlans[index])" : "\(vlans[index])-\(vlans[end])")
    index = end + 1
  }
  return parts.joined(separator: ",")
}

extension RateLimitSpec {
  /// `ingress 100mbit egress 50mbit egress 20kpps burst 256KiB`.
  public var summary: String {
    var parts: [String] = []
    if let ingress { parts.append("ingress \(ingress)") }
    if let egress { parts.append("egress \(egress)") }
    if let ingressPPS { parts.append("ingress \(Rate.packetsPerSecond(ingressPPS))") }
    if let egressPPS { parts.append("egress \(Rate.packetsPerSecond(egressPPS))") }
    if let burst { parts.append("burst \(formatSize(burst))") }
    return parts.joined(separator: " ")
  }
}

/// Bytes in the largest binary unit that divides them exactly (`256KiB`, `1500`).
func formatSize(_ bytes: Int) -> String {
  for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")]
  where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
    return "\(bytes >> shift)\(unit)"
  }
  return "\(bytes)"
}

/// A duration in the largest of h, m, s, ms that divides it exactly (`5m`, `250ms`).
func formatDuration(_ duration: Duration) -> String {
  let (seconds, attoseconds) = duration.components
  let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
  for (factor, unit) in [(Int64(3_600_000), "h"), (60_000, "m"), (1000, "s")]
  where milliseconds >= factor && milliseconds % factor == 0 {
    return "\(milliseconds / factor)\(unit)"
  }
  return "\(milliseconds)ms"
}
