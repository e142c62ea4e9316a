import Crypto
import Foundation

/// An Ed25519 key pair. Wallets, node agents and the coordinator each hold one; the hex of the raw
/// public key is the holder's address on the network, so anyone can check a signature from the address alone.
public struct SigningIdentity: Sendable {
    public let privateKey: Curve25519.Signing.PrivateKey

    public init() {
        privateKey = Curve25519.Signing.PrivateKey()
    }

    public init(rawPrivateKey: Data) throws {
        do {
            privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: rawPrivateKey)
        } catch {
            throw CrucibleError(.keyFile, "not an Ed25519 private key (\(rawPrivateKey.count) bytes)")
        }
    }

    public var address: String { privateKey.publicKey.rawRepresentation.hexString }

    /// The 32 raw private-key bytes, for the key file only.
    var rawPrivateKey: Data { privateKey.rawRepresentation }

    /// A secret only this key's holder can compute: HMAC-SHA256 keyed by the private key over a purpose label and a
    /// message. The coordinator derives challenge seeds this way, so a restart loses none and none need storing.
    public func derivedSecret(purpose: String, message: Data) -> Data {
        var input = Data(purpose.utf8)
        input.append(0)
        input.append(message)
        return Data(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: rawPrivateKey)))
    }

    public func sign(_ message: Data) -> Data {
        // Signing only fails on a broken key, which cannot be constructed through this type.
        // swiftlint:disable:next force_try
        try! privateKey.signature(for: message)
    }

    /// Checks `signature` over `message` for the holder of `address`.
    public static func isValid(signature: Data, of message: Data, by address: String) -> Bool {
        guard Address.isValid(address), let raw = Data(hexString: address),
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
        else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

/// An address is the 64-hex-digit raw Ed25519 public key.
public enum Address {
    public static func isValid(_ value: String) -> Bool { Digest.isValidHex(value) }

    /// A short form for tables and logs.
    public static func short(_ value: String) -> String { String(value.prefix(10)) }
}
