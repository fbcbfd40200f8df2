// The "did you mean" of an unknown-key diagnostic.

/// The known key closest to `key` (edit distance at most 2, or a prefix either way).
func suggestion(for key: String, among known: [String]) -> String? {
  var best: (key: String, distance: Int)?
  for candidate in known {
    let distance = editDistance(key, candidate)
    let isPrefix =
      (key.count >= 3 && candidate.hasPrefix(key))
      || (candidate.count >= 3 && key.hasPrefix(candidate))
    guard distance <= 2 || isPrefix else { continue }
    if best == nil || distance < best!.distance { best = (candidate, distance) }
  }
  return best?.key
}

/// Levenshtein distance over characters.
func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a)
  let b = Array(b)
  if a.isEmpty { return b.count }
  var previous = Array(0...b.count)
  for i in 1...a.count {
    var current = [i] + Array(repeating: 0, count: b.count)
    for j in stride(from: 1, through: b.count, by: 1) {
      let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
      current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
    }
    previous = current
  }
  return previous[b.count]
}
