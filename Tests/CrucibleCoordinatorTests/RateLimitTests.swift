import AsyncHTTPClient
import CrucibleCoordinator
import CrucibleCore
import Foundation
import NIOCore
import Testing

/// Signed requests per key: a token bucket in memory, a 429 with Retry-After beyond it.
@Suite struct RateLimitTests {
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

    /// A key past its allowance gets 429, a Retry-After header and a sentence saying when, and nothing moves; other
    /// keys go on; the same envelope sent again after the wait is taken (a refused envelope spends no nonce).
    @Test func aKeySendingTooFastIsToldWhenToSendAgainAndChangesNothing() async throws {
        let network = try await TestNetwork.start(rateLimit: .init(perSecond: 1, burst: 3))
        let payee = SigningIdentity().address
        for _ in 0..<3 {
            _ = try await network.client.transfer([.init(to: payee, amountMicro: 1)], by: network.requester)
        }
        let ledgerBefore = await network.coordinator.state.ledger
        let envelope = try SignedEnvelope.sign(TokenTransfer(to: payee, amountMicro: 1), kind: .transfer, by: network.requester)
        let refused = try await post(envelope, to: network)
        #expect(refused.status == 429)
        let wait = try #require(refused.retryAfter.flatMap { Int($0) }, "no Retry-After header")
        #expect((1...2).contains(wait))
        #expect(refused.body.contains("\"rate_limited\"") && refused.body.contains("send again in \(wait) s"), "\(refused.body)")
        #expect(await network.coordinator.state.ledger == ledgerBefore)
        // The client reads it as a refusal that says when to come back.
        await #expect { try await network.client.transfer([.init(to: payee, amountMicro: 1)], by: network.requester) } throws: {
            ($0 as? CrucibleError)?.code == .rateLimited && ($0 as? CrucibleError)?.retryAfterS != nil
        }
        // Another key is not held back.
        _ = try await network.client.transfer([.init(to: payee, amountMicro: 1)], by: network.operatorA)
        // After the wait the same envelope is taken.
        try await Task.sleep(for: .seconds(wait + 1))
        #expect(try await post(envelope, to: network).status == 200)
        #expect(await network.coordinator.state.ledger.balance(of: payee) == 5)
        await network.stop()
    }

    func post(_ envelope: SignedEnvelope, to network: TestNetwork) async throws -> (status: Int, retryAfter: String?, body: String) {
        var request = HTTPClientRequest(url: network.url.absoluteString + "/v1/transfers")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: APIRefusalTests().wireJSON(envelope)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), response.headers.first(name: "Retry-After"), String(buffer: body))
    }
}
