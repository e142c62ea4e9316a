import CrucibleCore
import Foundation
import Testing

@Suite struct SignedEnvelopeTests {
    let identity = SigningIdentity()

    @Test func signedEnvelopeVerifies() throws {
        let envelope = try SignedEnvelope.sign(JobCancellation(jobId: "job-1"), kind: .cancelJob, by: identity)
        try envelope.verifySignature()
        #expect(envelope.signer == identity.address)
        #expect(try envelope.decodePayload(as: JobCancellation.self).jobId == "job-1")
    }

    @Test func everySignedFieldIsCovered() throws {
        let envelope = try SignedEnvelope.sign(JobCancellation(jobId: "job-1"), kind: .cancelJob, by: identity)
        var tampered = [SignedEnvelope]()
        var copy = envelope
        copy.payload = Data(#"{"jobId":"job-2"}"#.utf8)
        tampered.append(copy)
        copy = envelope
        copy.nonce = "another-nonce"
        tampered.append(copy)
        copy = envelope
        copy.timestampMs += 1
        tampered.append(copy)
        copy = envelope
        copy.kind = .submitJob
        tampered.append(copy)
        copy = envelope
        copy.signer = SigningIdentity().address
        tampered.append(copy)
        for forged in tampered {
            #expect(throws: CrucibleError.self) { try forged.verifySignature() }
            do { try forged.verifySignature() } catch let error as CrucibleError { #expect(error.code == .badSignature) }
        }
    }

    @Test func malformedSignerOrNonceIsRefused() throws {
        var envelope = try SignedEnvelope.sign(JobCancellation(jobId: "x"), kind: .cancelJob, by: identity)
        envelope.signer = "not-hex"
        #expect(throws: CrucibleError(.malformed, "signer must be a 64-hex-digit Ed25519 public key")) { try envelope.verifySignature() }
        envelope = try SignedEnvelope.sign(JobCancellation(jobId: "x"), kind: .cancelJob, by: identity)
        envelope.nonce = ""
        #expect(throws: CrucibleError.self) { try envelope.verifySignature() }
    }

    @Test func oversizedPayloadIsRefused() {
        let envelope = SignedEnvelope.sign(payload: Data(count: SignedEnvelope.payloadBytesMax + 1), kind: .submitJob, by: identity)
        do {
            try envelope.verifySignature()
            Issue.record("an oversized payload verified")
        } catch let error as CrucibleError {
            #expect(error.code == .tooLarge)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func noncesAreFresh() throws {
        let first = try SignedEnvelope.sign(JobCancellation(jobId: "x"), kind: .cancelJob, by: identity)
        let second = try SignedEnvelope.sign(JobCancellation(jobId: "x"), kind: .cancelJob, by: identity)
        #expect(first.nonce != second.nonce)
    }

    @Test func payloadOfWrongShapeIsMalformed() throws {
        let envelope = try SignedEnvelope.sign(JobCancellation(jobId: "x"), kind: .submitJob, by: identity)
        do {
            _ = try envelope.decodePayload(as: JobSubmission.self)
            Issue.record("decoded a cancellation as a submission")
        } catch let error as CrucibleError {
            #expect(error.code == .malformed)
            #expect(error.message.contains("spec"))
        }
    }
}
