import Foundation

extension Duration {
    /// The duration in seconds, as a floating-point figure for reports.
    public var totalSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The duration in whole milliseconds.
    public var totalMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}

/// Wall-clock milliseconds since 1970. Everything that decides uses an injected `now`; this is the default.
public enum Clock {
    public static func nowMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }
}
