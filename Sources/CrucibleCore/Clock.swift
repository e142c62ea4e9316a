import Foundation

/// Wall-clock milliseconds since 1970. Everything that decides uses an injected `now`; this is the default.
public enum Clock {
    public static func nowMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }
}
