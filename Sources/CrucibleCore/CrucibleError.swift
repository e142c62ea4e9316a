/// Every refusal the network gives has a stable machine-readable code and a sentence for people.
/// The HTTP layer maps codes to statuses; callers match on `code`, never on the message.
public struct CrucibleError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Codable, CaseIterable {
        case malformed = "malformed"
        case badSignature = "bad_signature"
        case replayedNonce = "replayed_nonce"
        case staleTimestamp = "stale_timestamp"
        case unknownKind = "unknown_kind"
        case wrongKind = "wrong_kind"
        case invalidSpec = "invalid_spec"
        case insufficientFunds = "insufficient_funds"
        case notFound = "not_found"
        case forbidden = "forbidden"
        case conflict = "conflict"
        case offerExpired = "offer_expired"
        /// The offer an answer names was withdrawn (a gang member declined or let it lapse, the job was cancelled) or
        /// made again: nothing to do but answer the new offer if one comes.
        case offerWithdrawn = "offer_withdrawn"
        case tooLarge = "too_large"
        case digestMismatch = "digest_mismatch"
        case ledgerViolation = "ledger_violation"
        case auditFailed = "audit_failed"
        case keyFile = "key_file"
        case unavailable = "unavailable"
        case rateLimited = "rate_limited"
        case methodNotAllowed = "method_not_allowed"
        case internalError = "internal"
    }

    public var code: Code
    public var message: String
    /// For `rate_limited` (and `unavailable` when known): seconds to wait before sending again (HTTP Retry-After).
    public var retryAfterS: Int?

    public init(_ code: Code, _ message: String, retryAfterS: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfterS = retryAfterS
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The HTTP status a refusal is answered with.
    public var httpStatus: Int {
        switch code {
        case .malformed, .unknownKind, .wrongKind, .invalidSpec, .digestMismatch: 400
        case .badSignature: 401
        case .forbidden: 403
        case .notFound: 404
        case .methodNotAllowed: 405
        case .replayedNonce, .conflict, .offerExpired, .offerWithdrawn: 409
        case .staleTimestamp: 422
        case .insufficientFunds: 402
        case .tooLarge: 413
        case .rateLimited: 429
        case .ledgerViolation, .auditFailed, .keyFile, .internalError: 500
        case .unavailable: 503
        }
    }
}
