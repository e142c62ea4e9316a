import Foundation

/// The one shape of every state-changing input (ARCHITECTURE §3): who signed, a nonce the signer never
/// used before, when, what kind of payload, the payload's exact bytes, and an Ed25519 signature over all of it.
/// The payload is kept as bytes and never re-encoded, so the signature stays checkable forever.
public struct SignedEnvelope: Codable, Sendable, Equatable {
    public var signer: String
    public var nonce: String
    public var timestampMs: Int64
    public var kind: EnvelopeKind
    public var payload: Data
    public var signature: Data

    public static let nonceLengthMax = 64
    public static let payloadBytesMax = 1 << 20

    public init(signer: String, nonce: String, timestampMs: Int64, kind: EnvelopeKind, payload: Data, signature: Data) {
        self.signer = signer
        self.nonce = nonce
        self.timestampMs = timestampMs
        self.kind = kind
        self.payload = payload
        self.signature = signature
    }

    /// Signs `payload` as `kind` with a fresh random nonce.
    public static func sign(
        payload: Data,
        kind: EnvelopeKind,
        by identity: SigningIdentity,
        timestampMs: Int64 = Clock.nowMs()
    ) -> SignedEnvelope {
        var nonceBytes = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in nonceBytes.indices { nonceBytes[index] = UInt8.random(in: 0...255, using: &generator) }
        let nonce = Data(nonceBytes).hexString
        let message = signingBytes(signer: identity.address, nonce: nonce, timestampMs: timestampMs, kind: kind.rawValue, payload: payload)
        return SignedEnvelope(
            signer: identity.address, nonce: nonce, timestampMs: timestampMs, kind: kind,
            payload: payload, signature: identity.sign(message)
        )
    }

    /// Encodes `value` as the payload and signs it.
    public static func sign<Payload: Encodable>(
        _ value: Payload,
        kind: EnvelopeKind,
        by identity: SigningIdentity,
        timestampMs: Int64 = Clock.nowMs()
    ) throws -> SignedEnvelope {
        sign(payload: try CanonicalJSON.encode(value), kind: kind, by: identity, timestampMs: timestampMs)
    }

    /// The bytes the signature covers: a domain tag, then every field, then the raw payload.
    public static func signingBytes(signer: String, nonce: String, timestampMs: Int64, kind: String, payload: Data) -> Data {
        Data("crucible/envelope/v1\n\(kind)\n\(signer)\n\(nonce)\n\(timestampMs)\n".utf8) + payload
    }

    /// Checks shape and signature; nonce reuse and the time window are the receiver's to check.
    public func verifySignature() throws {
        guard Address.isValid(signer) else { throw CrucibleError(.malformed, "signer must be a 64-hex-digit Ed25519 public key") }
        guard !nonce.isEmpty, nonce.utf8.count <= Self.nonceLengthMax,
              nonce.utf8.allSatisfy({ $0 > 32 && $0 < 127 })
        else { throw CrucibleError(.malformed, "nonce must be 1 to \(Self.nonceLengthMax) printable ASCII characters") }
        guard payload.count <= Self.payloadBytesMax else {
            throw CrucibleError(.tooLarge, "payload is \(payload.count) bytes; the limit is \(Self.payloadBytesMax)")
        }
        let message = Self.signingBytes(signer: signer, nonce: nonce, timestampMs: timestampMs, kind: kind.rawValue, payload: payload)
        guard SigningIdentity.isValid(signature: signature, of: message, by: signer) else {
            throw CrucibleError(.badSignature, "the signature does not match the signer and the signed bytes")
        }
    }

    /// Decodes the payload as the type its kind calls for.
    public func decodePayload<Payload: Decodable>(as type: Payload.Type) throws -> Payload {
        do {
            return try JSONDecoder().decode(type, from: payload)
        } catch {
            throw CrucibleError(.malformed, "payload is not a valid \(kind.rawValue): \(CanonicalJSON.describe(error))")
        }
    }
}

/// What an envelope carries. Unknown kinds are refused at the door.
public enum EnvelopeKind: String, Codable, Sendable, CaseIterable {
    case registerNode = "register_node"
    case pollOffers = "poll_offers"
    case heartbeat = "heartbeat"
    case respondOffer = "respond_offer"
    case reportResult = "report_result"
    case appendTaskLog = "append_task_log"
    case submitJob = "submit_job"
    case cancelJob = "cancel_job"
    case reviewFrames = "review_frames"
    case putBlob = "put_blob"
    case startChallenge = "start_challenge"
    case commitChallenge = "commit_challenge"
    case openChallenge = "open_challenge"
    case stake = "stake"
    case propose = "propose"
    case vote = "vote"
    case transfer = "transfer"
    case reportLinks = "report_links"
}
