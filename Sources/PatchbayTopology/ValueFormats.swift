/// Why a value written in a topology file was refused.
public struct ValueFormatError: Error, Hashable, Sendable, CustomStringConvertible {
  /// What is wrong, lower case, no trailing period; the loader puts it after the value it quotes.
  public var reason: String

  /// Makes an error from its reason.
  public init(_ reason: String) { self.reason = reason }

  /// The reason.
  public var description: String { reason }
}

/// Parsers for the value syntaxes of topology files: sizes, rates, durations, VLAN ids and
/// interface names.
///
/// They are pure functions of their text so that `validate`, `up` and the tests agree on what
/// a value means; each returns the value or throws the reason it is refused.
public enum ValueFormat {
  /// The longest Linux interface name in bytes (`IFNAMSIZ` less the terminating NUL).
  public static let maximumInterfaceNameLength = 15

  /// The VLAN ids a topology may use: 0 only marks priority tags and 4095 is reserved.
  public static let vlanIDs: ClosedRange<UInt16> = 1...4094

  private static let sizeUnits: [(unit: String, factor: UInt64)] = [
    ("b", 1), ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("kb", 1_000),
    ("mb", 1_000_000), ("gb", 1_000_000_000),
  ]
  private static let sizeUnitList = "B, KiB, MiB, GiB, KB, MB or GB"

  private static let rateUnits: [(unit: String, factor: UInt64, isPackets: Bool)] = [
    ("bit", 1, false), ("kbit", 1_000, false), ("mbit", 1_000_000, false),
    ("gbit", 1_000_000_000, false), ("pps", 1, true), ("kpps", 1_000, true),
    ("mpps", 1_000_000, true),
  ]
  private static let rateUnitList = "bit, kbit, mbit, gbit, pps, kpps or mpps"

  private static let durationUnits: [(unit: String, milliseconds: UInt64)] = [
    ("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000),
  ]
  private static let durationUnitList = "ms, s, m or h"

  /// Parses a size in bytes: `1500`, `64KiB`, `16MiB`, `1GiB` (1024-based) or `KB`/`MB`/`GB`
  /// (1000-based); units are case-insensitive.
  public static func size(_ text: String) throws(ValueFormatError) -> UInt64 {
    let (number, unit) = try splitNumber(text, example: "a size like 1500, 64KiB or 16MiB")
    guard !unit.isEmpty else { return number }
    guard let factor = sizeUnits.first(where: { $0.unit == unit.lowercased() })?.factor else {
      throw ValueFormatError("unknown unit '\(unit)'; use \(sizeUnitList)")
    }
    return try scale(number, by: factor)
  }

  /// Parses a rate: bits per second with SI prefixes (`500kbit`, `100mbit`, `1gbit`) or
  /// packets per second (`1500pps`, `20kpps`); zero is refused because it would stop all traffic.
  public static func rate(_ text: String) throws(ValueFormatError) -> Rate {
    let (number, unit) = try splitNumber(
      text, example: "a rate like 500kbit, 100mbit, 1gbit or 20kpps")
    guard !unit.isEmpty else { throw ValueFormatError("missing unit; use \(rateUnitList)") }
    guard let match = rateUnits.first(where: { $0.unit == unit.lowercased() }) else {
      throw ValueFormatError("unknown unit '\(unit)'; use \(rateUnitList)")
    }
    let value = try scale(number, by: match.factor)
    guard value > 0 else { throw ValueFormatError("must be greater than zero") }
    return match.isPackets ? .packetsPerSecond(value) : .bitsPerSecond(value)
  }

  /// Parses a duration with a unit: `250ms`, `300s`, `5m` or `1h`.
  public static func duration(_ text: String) throws(ValueFormatError) -> Duration {
    let (number, unit) = try splitNumber(text, example: "a duration like 250ms, 300s, 5m or 1h")
    guard !unit.isEmpty else { throw ValueFormatError("missing unit; use \(durationUnitList)") }
    guard let factor = durationUnits.first(where: { $0.unit == unit.lowercased() })?.milliseconds
    else {
      throw ValueFormatError("unknown unit '\(unit)'; use \(durationUnitList)")
    }
    let milliseconds = try scale(number, by: factor)
    guard let signed = Int64(exactly: milliseconds) else { throw ValueFormatError("too large") }
    return .milliseconds(signed)
  }

  /// Parses a VLAN id a port may use, 1 through 4094.
  public static func vlanID(_ text: String) throws(ValueFormatError) -> UInt16 {
    guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
      throw ValueFormatError("expected a VLAN id from 1 to 4094")
    }
    guard let value = UInt16(text), value <= 4095 else {
      throw ValueFormatError("expected a VLAN id from 1 to 4094")
    }
    switch value {
    case 0: throw ValueFormatError("VLAN 0 only marks priority tags; use 1 to 4094")
    case 4095: throw ValueFormatError("VLAN 4095 is reserved; use 1 to 4094")
    default: return value
    }
  }

  /// Checks a Linux interface name: 1 to 15 bytes, no `/`, `:` or whitespace, not `.` or `..`.
  ///
  /// The reasons read after the name (`interface name 'x' is empty`) because the kernel's
  /// refusal would otherwise surface only at `up`, after half the lab was built.
  public static func interfaceName(_ text: String) throws(ValueFormatError) -> String {
    if text.isEmpty { throw ValueFormatError("is empty") }
    if text.utf8.count > maximumInterfaceNameLength {
      let unit = text.count > maximumInterfaceNameLength ? "characters" : "bytes"
      throw ValueFormatError("is longer than \(maximumInterfaceNameLength) \(unit)")
    }
    if text == "." || text == ".." { throw ValueFormatError("cannot be '.' or '..'") }
    for scalar in text.unicodeScalars {
      if scalar == "/" { throw ValueFormatError("contains '/'") }
      if scalar == ":" { throw ValueFormatError("contains ':'") }
      if scalar.properties.isWhitespace { throw ValueFormatError("contains whitespace") }
      if scalar.value < 0x20 || scalar.value == 0x7F {
        throw ValueFormatError("contains a control character")
      }
    }
    return text
  }

  /// Splits `123unit` into its decimal number and unit; throws when there is no leading number
  /// or it does not fit 64 bits.
  private static func splitNumber(
    _ text: String, example: String
  ) throws(ValueFormatError) -> (number: UInt64, unit: Substring) {
    let digits = text.prefix { $0.isASCII && $0.isNumber }
    guard !digits.isEmpty else { throw ValueFormatError("expected \(example)") }
    guard let number = UInt64(digits) else { throw ValueFormatError("too large") }
    return (number, text[digits.endIndex...])
  }

  /// `number * factor`, refusing what does not fit 64 bits.
  private static func scale(_ number: UInt64, by factor: UInt64) throws(ValueFormatError) -> UInt64
  {
    let (product, overflow) = number.multipliedReportingOverflow(by: factor)
    guard !overflow else { throw ValueFormatError("too large") }
    return product
  }
}
