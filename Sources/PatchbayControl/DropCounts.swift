import PatchbayCore

/// Dropped frames by reason, the zero ones left out: a port's `drops` and
/// `txDrops` (keyed by `DropReason`), an uplink's `drops` (`NATDropReason`).
/// In JSON an object from each reason's name as `status` prints it
/// (`ip-guard`, `unsolicited`) to its count; a name no reason has is malformed.
public struct DropCounts<Reason: DropCountReason>: Sendable, Equatable {
  /// The non-zero counts.
  public private(set) var counts: [Reason: UInt64] = [:]

  /// No drops.
  public init() {}

  /// The counts of `pairs`; zero ones are left out, a repeated reason adds up.
  public init(_ pairs: some Sequence<(reason: Reason, count: UInt64)>) {
    for (reason, count) in pairs { self[reason] += count }
  }

  /// The drops counted for `reason`, 0 for none; setting 0 removes it.
  public subscript(reason: Reason) -> UInt64 {
    get { counts[reason] ?? 0 }
    set { counts[reason] = newValue == 0 ? nil : newValue }
  }

  /// True when nothing was dropped.
  public var isEmpty: Bool { counts.isEmpty }

  /// Each reason's name and count, by name: the order the text output lists them in.
  public var byName: [(name: String, count: UInt64)] {
    counts.map { (name: $0.key.description, count: $0.value) }.sorted { $0.name < $1.name }
  }
}

/// A reason a drop is counted under: named as `status` and `nat` print it.
public protocol DropCountReason: CaseIterable, CustomStringConvertible, Hashable, Sendable {}

extension DropReason: DropCountReason {}
extension NATDropReason: DropCountReason {}

extension DropCounts: ExpressibleByDictionaryLiteral {
  /// The counts written out, as tests write them.
  public init(dictionaryLiteral elements: (Reason, UInt64)...) {
    self.init(elements.map { (reason: $0.0, count: $0.1) })
  }
}

extension DropCounts: Codable {
  /// Decodes an object of reason names to counts.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: NameKey.self)
    for key in container.allKeys {
      guard let reason = Reason.allCases.first(where: { $0.description == key.stringValue }) else {
        throw DecodingError.dataCorruptedError(
          forKey: key, in: container, debugDescription: "no drop reason is named this")
      }
      self[reason] += try container.decode(UInt64.self, forKey: key)
    }
  }

  /// Encodes the non-zero counts under their reasons' names.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: NameKey.self)
    for (reason, count) in counts {
      try container.encode(count, forKey: NameKey(reason.description))
    }
  }
}

/// A JSON object key that is a name, not a field.
struct NameKey: CodingKey {
  let stringValue: String
  var intValue: Int? { nil }
  init(_ name: String) { stringValue = name }
  init?(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { nil }
}
