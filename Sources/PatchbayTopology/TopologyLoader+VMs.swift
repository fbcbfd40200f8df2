import PatchbayWire
import Yams

// `vms`: a QEMU guest with its ports, kernel, disk, memory and CPUs.

private let cpuCounts = 1...64
private let minimumVMMemory: UInt64 = 16 << 20

extension Loader {
  mutating func readVM(_ item: Entry) -> VMSpec? {
    let context = "in vm '\(item.key)'"
    guard let entries = section(item, kind: "vm", known: TopologyKeys.vm, required: []) else {
      return nil
    }
    exclusive(["port", "ports"], in: entries, context: context)
    if !entries.contains(where: { $0.key == "port" || $0.key == "ports" }) {
      error("missing required key 'port' or 'ports' \(context)", at: item.keyLocation)
    }
    if !entries.contains(where: { $0.key == "kernel" || $0.key == "disk" }) {
      error("missing required key 'kernel' or 'disk' \(context)", at: item.keyLocation)
    }
    requires("initrd", "kernel", in: entries, context: context)
    requires("append", "kernel", in: entries, context: context)
    var spec = VMSpec(name: item.key, ports: [], location: item.keyLocation)
    var portsRead = false
    for entry in entries {
      switch entry.key {
      case "port":
        if !portsRead, let node = singleValue(entry),
          let reference = portReference(node, key: "port")
        {
          spec.ports = [reference]
          portsRead = true
        }
      case "ports":
        if !portsRead, let references = portList(entry, checked: false) {
          spec.ports = references
          portsRead = true
        }
      case "kernel": spec.kernel = text(entry)
      case "initrd": spec.initrd = text(entry)
      case "append": spec.append = text(entry)
      case "disk":
        readDisk(entry, into: &spec)
        continue
      case "memory":
        if let memory = value(entry, ValueFormat.size) {
          if memory >= minimumVMMemory, let bytes = Int(exactly: memory) {
            spec.memory = bytes
          } else {
            error(
              "invalid memory '\(text(entry) ?? "")': must be at least 16MiB",
              at: entry.valueLocation)
          }
        }
      case "cpus":
        if let cpus = integer(entry, in: cpuCounts) { spec.cpus = cpus }
      case "mac":
        spec.mac = mac(entry, owner: "vm '\(item.key)'")
      case "accel":
        spec.accel = value(entry) { text throws(ValueFormatError) in
          guard text == "kvm" || text == "tcg" else { throw ValueFormatError("use kvm or tcg") }
          return text
        }
      case "qemu-args":
        spec.qemuArgs = readStrings(entry) ?? []
      case "stop-timeout":
        if let timeout = value(entry, ValueFormat.duration) { spec.stopTimeout = timeout }
      default:
        break
      }
      spec.valueLocations[entry.key] = entry.valueLocation
    }
    if portsRead {
      // Claims come from the list entries' own locations so repeats point at the repeat.
      let portEntry = entries.first { $0.key == "port" || $0.key == "ports" }!
      if case .sequence(let sequence) = portEntry.value {
        for (reference, node) in zip(spec.ports, sequence) {
          claims.append(
            PortClaim(port: reference, owner: "vm '\(item.key)'", location: location(of: node)))
        }
      } else if let reference = spec.ports.first {
        claims.append(
          PortClaim(port: reference, owner: "vm '\(item.key)'", location: portEntry.valueLocation))
      }
    }
    return portsRead ? spec : nil
  }

  /// `disk: PATH`, or `disk: {file: PATH, format: raw|qcow2, backing: PATH}`.
  mutating func readDisk(_ entry: Entry, into spec: inout VMSpec) {
    guard entry.value.mapping != nil else {
      spec.disk = text(entry)
      spec.valueLocations["disk"] = entry.valueLocation
      return
    }
    let context = "in disk of vm '\(spec.name)'"
    let entries = fields(
      of: entry.value, known: TopologyKeys.disk, context: context, what: "'disk'")
    requireKey("file", in: entries, context: context, at: entry.keyLocation)
    for field in entries {
      switch field.key {
      case "file":
        spec.disk = text(field)
        spec.valueLocations["disk"] = field.valueLocation
      case "format":
        spec.declaredDiskFormat = value(field) { text throws(ValueFormatError) in
          guard let format = DiskFormat(rawValue: text) else {
            throw ValueFormatError("use raw or qcow2")
          }
          return format
        }
        spec.valueLocations["format"] = field.valueLocation
      case "backing":
        spec.backing = text(field)
        spec.valueLocations["backing"] = field.valueLocation
      default: break
      }
    }
    if spec.backing != nil, spec.diskFormat == .raw,
      let field = entries.first(where: { $0.key == "backing" })
    {
      error("'backing' needs a qcow2 disk (a raw image has no backing file)", at: field.keyLocation)
    }
  }

  mutating func readStrings(_ entry: Entry) -> [String]? {
    guard let nodes = items(entry, of: "strings") else { return nil }
    var strings: [String] = []
    for node in nodes {
      guard case .scalar(let scalar) = node else {
        error("'\(entry.key)' must be a list of strings", at: location(of: node))
        return nil
      }
      strings.append(scalar.string)
    }
    return strings
  }
}
