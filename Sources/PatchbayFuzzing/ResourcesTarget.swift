import Foundation
import PatchbayControl

/// The `resources` target: `resources.json` as `down` and the janitor read it
/// (`LabResourceRecord(decoding:)`), from any bytes (the daemon that writes it
/// runs with less privilege than the janitor that reads it).
///
/// Checked: nothing traps; a record that decodes encodes the way `save`
/// writes it, and that decodes to the same record; a record made from the
/// input's strings (any UTF-8, any length up to the input's) survives the
/// same round trip.
public func fuzzResources(_ bytes: UnsafeRawBufferPointer) {
  let data = Data(bytes)
  if let record = LabResourceRecord(decoding: data) { checkSaved(record) }
  // The same bytes as the strings of a record, split at NUL bytes.
  let parts = bytes.split(separator: 0, omittingEmptySubsequences: false).map {
    String(decoding: $0, as: UTF8.self)
  }
  var record = LabResourceRecord()
  record.topologyFile = parts.first ?? ""
  for (index, part) in parts.dropFirst().enumerated() {
    switch index % 4 {
    case 0: record.namespaces.append(part)
    case 1: record.links.append(part)
    case 2: record.hosts.append(part)
    default: record.vmProcesses[part] = Int32(truncatingIfNeeded: part.utf8.count &* 7919 &- 3)
    }
  }
  checkSaved(record)
}

/// `record` as `save` writes it decodes back to itself.
private func checkSaved(_ record: LabResourceRecord) {
  guard let encoded = try? record.encoded() else {
    fatalError("invariant violated: a record does not encode: \(record)")
  }
  invariant(
    LabResourceRecord(decoding: encoded) == record, "resources.json round trip lost \(record)")
}
