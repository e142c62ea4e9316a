import Foundation

/// One file a run wrote, by content address.
public struct OutputFile: Codable, Sendable, Equatable, Hashable {
    public var path: String
    public var sha256: String
    public var sizeBytes: Int64

    public init(path: String, sha256: String, sizeBytes: Int64) {
        self.path = path
        self.sha256 = sha256
        self.sizeBytes = sizeBytes
    }

    /// The digest of a run's whole output: SHA-256 over "path\tsha256\tsize\n" lines sorted by path.
    /// Two runs of deterministic work agree on it exactly; that is what replication compares.
    public static func manifestDigest(_ outputs: [OutputFile]) -> String {
        let lines = outputs.sorted { $0.path < $1.path }.map { "\($0.path)\t\($0.sha256)\t\($0.sizeBytes)\n" }
        return Digest.sha256Hex(lines.joined())
    }

    public static func validate(_ outputs: [OutputFile]) throws {
        guard outputs.count <= RunReport.outputCountMax else {
            throw CrucibleError(.tooLarge, "at most \(RunReport.outputCountMax) output files per run")
        }
        var paths = Set<String>()
        for output in outputs {
            guard JobSpec.isPlainRelativePath(output.path) else { throw CrucibleError(.malformed, "output path `\(output.path)` must be a plain relative path") }
            guard Digest.isValidHex(output.sha256) else { throw CrucibleError(.malformed, "output `\(output.path)` needs a 64-hex-digit sha256") }
            guard output.sizeBytes >= 0 else { throw CrucibleError(.malformed, "output `\(output.path)` has a negative size") }
            guard paths.insert(output.path).inserted else { throw CrucibleError(.malformed, "output `\(output.path)` appears twice") }
        }
    }
}
