import PatchbayCore
import Testing

@Suite("DropReason")
struct DropReasonTests {
  @Test func fitsInThePerPortCounterStorage() {
    // PortCounters keeps drop counts in 32-slot inline arrays indexed by rawValue.
    #expect(DropReason.allCases.count <= 32)
    #expect(DropReason.allCases.allSatisfy { (0..<32).contains($0.rawValue) })
  }

  @Test func rawValuesAreDenseFromZero() {
    #expect(DropReason.allCases.map(\.rawValue) == Array(0..<DropReason.allCases.count))
  }

  @Test func descriptionsAreUnique() {
    let names = DropReason.allCases.map(\.description)
    #expect(Set(names).count == DropReason.allCases.count)
  }

  @Test(arguments: DropReason.allCases)
  func descriptionIsKebabCase(reason: DropReason) {
    #expect(isKebabCase(reason.description), "\(reason.description)")
  }

  @Test func kebabCaseCheckRejectsOtherSpellings() {
    #expect(isKebabCase("tx-failed"))
    #expect(isKebabCase("runt"))
    for bad in ["", "txFailed", "tx_failed", "Tx-failed", "-tx", "tx-", "tx--failed", "tx failed"] {
      #expect(!isKebabCase(bad), "\(bad)")
    }
  }

  @Test func descriptionsAreTheNamesStatusPrints() {
    let expected: [DropReason: String] = [
      .runt: "runt",
      .invalidSource: "invalid-source",
      .reservedGroup: "reserved-group",
      .samePort: "same-port",
      .portDown: "port-down",
      .taggedOnAccessPort: "tagged-on-access",
      .staticConflict: "static-conflict",
      .noDestination: "no-destination",
      .transmitFailed: "tx-failed",
      .vlanNotAllowed: "vlan-not-allowed",
      .untaggedOnTrunk: "untagged-on-trunk",
      .doubleTagged: "double-tagged",
      .rateLimited: "rate-limited",
      .monitorPort: "monitor-port",
      .oversize: "oversize",
      .badOffload: "bad-offload",
      .macLimit: "max-macs",
      .macLocked: "mac-lock",
      .ipGuard: "ip-guard",
      .dhcpGuard: "dhcp-guard",
      .protectedPort: "protected",
      .handoffFull: "handoff-full",
    ]
    let actual = Dictionary(uniqueKeysWithValues: DropReason.allCases.map { ($0, $0.description) })
    #expect(actual == expected)
  }

  @Test func roundTripsThroughRawValue() {
    for reason in DropReason.allCases {
      #expect(DropReason(rawValue: reason.rawValue) == reason)
    }
    #expect(DropReason(rawValue: DropReason.allCases.count) == nil)
    #expect(DropReason(rawValue: -1) == nil)
  }
}

/// Lower-case ASCII words joined by single hyphens.
private func isKebabCase(_ text: String) -> Bool {
  let words = text.split(separator: "-", omittingEmptySubsequences: false)
  return !text.isEmpty
    && words.allSatisfy { word in
      !word.isEmpty && word.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
    }
}
