/// An envelope whose kind and signature were checked: only `init` makes one. Checking costs an Ed25519 verification
/// (about 0.1 ms), so a server does it where requests are handled, in parallel, before anything that admits envelopes
/// one at a time sees them; the nonce and time window are left to the receiver.
@dynamicMemberLookup
public struct VerifiedEnvelope: Sendable {
    public let signed: SignedEnvelope

    public init(_ envelope: SignedEnvelope, as kind: EnvelopeKind) throws {
        guard envelope.kind == kind else {
            throw CrucibleError(.wrongKind, "this endpoint takes \(kind.rawValue) envelopes, not \(envelope.kind.rawValue)")
        }
        try envelope.verifySignature()
        signed = envelope
    }

    public subscript<Value>(dynamicMember keyPath: KeyPath<SignedEnvelope, Value>) -> Value { signed[keyPath: keyPath] }

    public func decodePayload<Payload: Decodable>(as type: Payload.Type) throws -> Payload { try signed.decodePayload(as: type) }
}
