import PatchbayWire
import Yams

// `captures` and `mirrors`: which ports are recorded or copied, and where to.

private let snaplens: ClosedRange<UInt64> = 64...262_144

extension Loader {
  mutating func readCapture(_ item: Entry) -> CaptureSpec? {
    guard
      let entries = section(
        item, kind: "capture", known: TopologyKeys.capture, required: ["ports", "file"])
    else {
      return nil
    }
    var ports: [PortReference]?
    var file: String?
    var spec = CaptureSpec(name: item.key, ports: [], file: "", location: item.keyLocation)
    for entry in entries {
      switch entry.key {
      case "ports": ports = portList(entry, checked: true)
      case "file": file = text(entry)
      case "filter":
        spec.filter = text(entry)
        spec.filterLocation = entry.valueLocation
      case "snaplen":
        if let snaplen = value(entry, ValueFormat.size) {
          if snaplens.contains(snaplen) {
            spec.snaplen = Int(snaplen)
          } else {
            error(
              "invalid snaplen '\(text(entry) ?? "")': must be from \(snaplens.lowerBound) to "
                + "\(snaplens.upperBound) bytes", at: entry.valueLocation)
          }
        }
      case "ring": spec.ring = readRing(entry, capture: item.key)
      default: break
      }
    }
    guard let ports, let file else { return nil }
    spec.ports = ports
    spec.file = file
    return spec
  }

  mutating func readRing(_ item: Entry, capture: String) -> (files: Int, size: Int)? {
    let context = "in ring of capture '\(capture)'"
    let entries = fields(of: item.value, known: TopologyKeys.ring, context: context, what: "'ring'")
    guard item.value.mapping != nil || item.value.isNull else { return nil }
    requireKey("files", in: entries, context: context, at: item.keyLocation)
    requireKey("size", in: entries, context: context, at: item.keyLocation)
    var files: Int?
    var size: Int?
    for entry in entries {
      switch entry.key {
      case "files": files = integer(entry, in: 2...1_000_000)
      case "size":
        if let bytes = value(entry, ValueFormat.size) {
          if bytes > 0, let exact = Int(exactly: bytes) {
            size = exact
          } else {
            error(
              "invalid size '\(text(entry) ?? "")': must be greater than zero",
              at: entry.valueLocation)
          }
        }
      default: break
      }
    }
    guard let files, let size else { return nil }
    return (files, size)
  }

  mutating func readMirror(_ item: Entry) -> MirrorSpec? {
    guard
      let entries = section(
        item, kind: "mirror", known: TopologyKeys.mirror, required: ["from", "to"])
    else {
      return nil
    }
    var from: [PortReference]?
    var to: (PortReference, Entry)?
    var filter: String?
    var filterLocation: SourceLocation?
    for entry in entries {
      switch entry.key {
      case "from": from = portList(entry, checked: true)
      case "to":
        if let node = singleValue(entry), let reference = portReference(node, key: "to") {
          to = (reference, entry)
          portLists.append((reference, entry.valueLocation))
        }
      case "filter":
        filter = text(entry)
        filterLocation = entry.valueLocation
      default: break
      }
    }
    if let (reference, entry) = to, let from, from.contains(reference) {
      error(
        "mirror '\(item.key)' copies to port '\(reference)', which is also in 'from'",
        at: entry.valueLocation)
    }
    guard let from, let to else { return nil }
    var mirror = MirrorSpec(
      name: item.key, from: from, to: to.0, filter: filter, location: item.keyLocation)
    mirror.filterLocation = filterLocation
    mirror.toLocation = to.1.valueLocation
    return mirror
  }

  /// A monitor port must be one that frames can be written to (a TAP or an
  /// attached interface), and never a mirror's source: copies of copies would loop.
  mutating func checkMirrors(_ mirrors: [MirrorSpec]) {
    let monitors = Set(mirrors.map(\.to))
    for mirror in mirrors {
      let location = mirror.toLocation ?? mirror.location
      if let draft = draft(mirror.to) {
        switch draft.spec.kind {
        case .tap, .attach: break
        case .peer:
          error(
            "mirror '\(mirror.name)' cannot copy to '\(mirror.to)', a patch cable: use a tap or attach port",
            at: location)
        case .uplink:
          error(
            "mirror '\(mirror.name)' cannot copy to '\(mirror.to)', an uplink port: use a tap or attach port",
            at: location)
        }
      }
      // A mirror copying to one of its own sources is reported where `to` is read.
      for source in mirror.from where monitors.contains(source) && source != mirror.to {
        error(
          "mirror '\(mirror.name)' copies from '\(source)', which is a mirror's monitor port",
          at: mirror.location)
      }
    }
  }
}
