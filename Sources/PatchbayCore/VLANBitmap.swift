/// A set of VLAN IDs 0–4095 as a 4096-bit bitmap: membership is one shift and
/// one mask, with no allocation (the bits live inline).
public struct VLANBitmap: Sendable, Equatable, CustomStringConvertible {
  private var words = InlineArray<64, UInt64>(repeating: 0)

  /// The number of 64-bit words in a bitmap.
  public static let wordCount = 64

  /// The empty set.
  public init() {}

  /// The bitmap as 64 words, VLAN v in bit `v % 64` of word `v / 64`.
  public var wordArray: [UInt64] { (0..<VLANBitmap.wordCount).map { words[$0] } }

  /// The set of `vlans` (IDs outside 1...4094 are ignored).
  public init(_ vlans: some Sequence<UInt16>) {
    for vlan in vlans { insert(vlan) }
  }

  /// Every valid VLAN, 1 through 4094.
  public static var all: VLANBitmap { VLANBitmap(1...4094) }

  /// Adds `vlan` if it is a valid ID (1...4094).
  public mutating func insert(_ vlan: UInt16) {
    guard (1...4094).contains(vlan) else { return }
    words[Int(vlan >> 6)] |= 1 << UInt64(vlan & 63)
  }

  /// True when `vlan` is in the set.
  @inline(__always)
  public func contains(_ vlan: UInt16) -> Bool {
    words[Int((vlan & 0x0FFF) >> 6)] >> UInt64(vlan & 63) & 1 == 1
  }

  /// The members in increasing order.
  public var members: [UInt16] { (0...4095).filter { contains(UInt16($0)) }.map(UInt16.init) }

  /// `1-4094`, `10,20,100-199` style text.
  public var description: String {
    var ranges: [String] = []
    var start: Int?
    var previous = -2
    for vlan in members.map(Int.init) + [-1] {
      if vlan != previous + 1 {
        if let first = start {
          ranges.append(first == previous ? "\(first)" : "\(first)-\(previous)")
        }
        start = vlan
      }
      previous = vlan
    }
    return ranges.joined(separator: ",")
  }

  /// Compares membership.
  public static func == (lhs: VLANBitmap, rhs: VLANBitmap) -> Bool {
    (0..<64).allSatisfy { lhs.words[$0] == rhs.words[$0] }
  }
}
