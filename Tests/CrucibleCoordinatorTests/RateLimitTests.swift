import AsyncHTTPClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleTestSupport
import Foundation
import NIOCore
import Testing

/// Signed requests per key: a token bucket in memory, a 429 with Retry-After beyond it.
@Suite(.network) struct RateLimitTests {
    @Test func theBucketLetsABurstThroughThenRefillsAtItsRate() {
        var limiter = RequestRateLimiter(limit: .init(perSecond: 4, burst: 2))
        #expect(limiter.take("a", atMs: 0) == nil && limiter.take("a", atMs: 0) == nil)
        // Empty: one token comes back every 250 ms.
        #expect(limiter.take("a", atMs: 0) == 250)
        #expect(limiter.take("a", atMs: 100) == 150)
        #expect(limiter.take("a", atMs: 250) == nil)
        #expect(limiter.take("a", atMs: 250) == 250)
        // Another key has its own bucket; a long pause refills to the burst, not beyond.
        #expect(limiter.take("b", atMs: 250) == nil)
        #expect(limiter.take("a", atMs: 60_000) == nil && limiter.take("a", atMs: 60_000) == nil && limiter.take("a", atMs: 60_000) == 250)
    }

    @Test func idleKeysAreForgotten() {
        var limiter = RequestRateLimiter(limit: .init(perSecond: 1, burst: 1))
        for index in 0..<RequestRateLimiter.keysBeforePruning {
            _ = limiter.take("key-\(index)", atMs: 0)
        }
        // Seconds later every bucket has refilled: the next key prunes them all.
        #expect(limiter.take("late", atMs: 10_000) == nil)
        #expect(limiter.keyCount <= 1)
    }

    /// A key past its allowance gets 429, a Retry-After header and a sentence saying when, and what was refused moves
    /// nothing; other keys go on; a refused envelope sent again after the wait is taken (it spent no nonce).
    @Test func aKeySendingTooFastIsToldWhenToSendAgainAndChangesNothing() async throws {
        let network = try await TestNetwork.start(rateLimit: .init(perSecond: 1, burst: 3))
        let payee = SigningIdentity().address
        // Twenty at once: three go through on the burst, and no more than one a second after that.
        let envelopes = try (0..<20).map { _ in try SignedEnvelope.sign(TokenTransfer(to: payee, amountMicro: 1), kind: .transfer, by: network.requester) }
        let answers = try await withThrowingTaskGroup(of: (SignedEnvelope, Answer).self) { group in
            for envelope in envelopes { group.addTask { (envelope, try await post(envelope, to: network)) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let taken = answers.filter { $0.1.status == 200 }
        let refused = answers.filter { $0.1.status == 429 }
        #expect(taken.count >= 3 && !refused.isEmpty && taken.count + refused.count == 20, "\(answers.map(\.1.status))")
        for (_, answer) in refused {
            let wait = try #require(answer.retryAfter.flatMap { Int($0) }, "no Retry-After header")
            #expect((1...2).contains(wait))
            #expect(answer.body.contains("\"rate_limited\"") && answer.body.contains("send again in \(wait) s"), "\(answer.body)")
        }
        // Only what was taken moved.
        #expect(await network.coordinator.state.ledger.balance(of: payee) == Int64(taken.count))
        // The client reads it as a refusal that says when to come back (twenty at once again: one at a time, a loaded
        // machine may take longer per request than the bucket takes to refill).
        let client = network.client
        let requester = network.requester
        let errors = await withTaskGroup(of: CrucibleError?.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    do {
                        _ = try await client.transfer([.init(to: payee, amountMicro: 1)], by: requester)
                        return nil
                    } catch {
                        return error as? CrucibleError
                    }
                }
            }
            return await group.reduce(into: [CrucibleError]()) { if let error = $1 { $0.append(error) } }
        }
        #expect(!errors.isEmpty && errors.allSatisfy { $0.code == .rateLimited && $0.retryAfterS != nil }, "\(errors)")
        // Another key is not held back.
        _ = try await network.client.transfer([.init(to: payee, amountMicro: 1)], by: network.operatorA)
        // After the wait a refused envelope, sent again as it was, is taken.
        let balance = await network.coordinator.state.ledger.balance(of: payee)
        try await Task.sleep(for: .seconds(3))
        #expect(try await post(try #require(refused.first?.0), to: network).status == 200)
        #expect(await network.coordinator.state.ledger.balance(of: payee) == balance + 1)
        await network.stop()
    }

    struct Answer: Sendable {
        var status: Int
        var retryAfter: String?
        var body: String
    }

    func post(_ envelope: SignedEnvelope, to network: TestNetwork) async throws -> Answer {
        var request = HTTPClientRequest(url: network.url.absoluteString + "/v1/transfers")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: APIRefusalTests().wireJSON(envelope)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"), body: String(buffer: body))
    }
}
