import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keys live in small JSON files that only their owner may read (mode 0600), as ssh keys do:
/// a key file that others can read is refused rather than silently used.
public enum KeyFile {
    struct Contents: Codable {
        var kind: String
        var address: String
        var privateKey: String
    }

    static let kind = "crucible-ed25519-private-key"

    public static func write(_ identity: SigningIdentity, to path: String, overwrite: Bool = false) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let contents = Contents(
            kind: kind,
            address: identity.address,
            privateKey: identity.rawPrivateKey.base64EncodedString()
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(contents) + Data("\n".utf8)
        // Created with 0600 from the start so the key is never readable by others, not even briefly.
        let flags = O_WRONLY | O_CREAT | (overwrite ? O_TRUNC : O_EXCL)
        let fd = open(path, flags, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw CrucibleError(.keyFile, "\(path) already exists; refusing to overwrite a key") }
            throw CrucibleError(.keyFile, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        _ = fchmod(fd, 0o600)
        #if canImport(Glibc)
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        #else
        let written = data.withUnsafeBytes { Darwin.write(fd, $0.baseAddress, $0.count) }
        #endif
        guard written == data.count else { throw CrucibleError(.keyFile, "short write to \(path)") }
    }

    public static func read(_ path: String) throws -> SigningIdentity {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CrucibleError(.keyFile, "no key file at \(path) (create one with `crucible wallet new --out \(path)`)")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw CrucibleError(.keyFile, "\(path) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); run `chmod 600 \(path)`")
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let contents = try? JSONDecoder().decode(Contents.self, from: data), contents.kind == kind,
              let raw = Data(base64Encoded: contents.privateKey)
        else { throw CrucibleError(.keyFile, "\(path) is not a Crucible key file") }
        let identity = try SigningIdentity(rawPrivateKey: raw)
        guard identity.address == contents.address else {
            throw CrucibleError(.keyFile, "\(path): stored address does not match the private key")
        }
        return identity
    }

    /// Reads the key at `path`, creating it first if there is none.
    public static func readOrCreate(_ path: String) throws -> SigningIdentity {
        if FileManager.default.fileExists(atPath: path) { return try read(path) }
        let identity = SigningIdentity()
        try write(identity, to: path)
        return identity
    }
}
