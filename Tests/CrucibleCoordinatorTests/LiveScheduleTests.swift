@testable import CrucibleCoordinator
import Testing

/// What only the live coordinator keeps: which nodes were seen within the online window, when each proven node's
/// unannounced challenge falls due, and the nonces it must refuse again.
@Suite struct LiveScheduleTests {
    @Test func nodesLeaveTheOnlineSetWhenTheirLastSightingIsOlderThanTheWindow() {
        var sightings = NodeSightings()
        sightings.see("a", atMs: 0)
        sightings.see("b", atMs: 10)
        sightings.see("a", atMs: 20)
        sightings.expire(before: 15)
        // `a` was seen again after the cutoff; its older sighting does not take it off.
        #expect(sightings.online == ["a"])
        #expect(sightings.lastSeenMs == ["a": 20, "b": 10])
        sightings.expire(before: 21)
        #expect(sightings.online.isEmpty && sightings.lastSeenMs["a"] == 20)
        sightings.see("b", atMs: 30)
        #expect(sightings.online == ["b"])
    }

    @Test func drawsFallDueInTimeOrderAndALaterDrawOrAChallengeReplacesThem() {
        var draws = ChallengeDraws()
        draws.draw("a", atMs: 100)
        draws.draw("b", atMs: 50)
        draws.draw("c", atMs: 70)
        draws.advance(to: 60)
        #expect(draws.due == ["b"])
        // Drawn again before it fell due: the first time no longer counts.
        draws.draw("c", atMs: 500)
        draws.advance(to: 100)
        #expect(draws.due == ["a", "b"])
        draws.clear("a")
        draws.draw("b", atMs: 600)
        #expect(draws.due.isEmpty && draws.nextMs == ["b": 600, "c": 500])
        draws.advance(to: 550)
        #expect(draws.due == ["c"])
        draws.advance(to: 10_000)
        #expect(draws.due == ["b", "c"])
    }

    @Test func noncesAreForgottenOnlyOnceTheirEnvelopesAreTooOldAndInTheOrderTheyCame() {
        var nonces = SeenNonces()
        nonces.insert(signer: "a", nonce: "1", timestampMs: 100)
        // Stamped late, arrived early: it holds back the one behind it, which is kept a little longer.
        nonces.insert(signer: "a", nonce: "2", timestampMs: 300)
        nonces.insert(signer: "b", nonce: "1", timestampMs: 150)
        #expect(nonces.contains(signer: "a", nonce: "1") && !nonces.contains(signer: "b", nonce: "2") && nonces.count == 3)
        nonces.expire(before: 200)
        #expect(!nonces.contains(signer: "a", nonce: "1"))
        #expect(nonces.contains(signer: "a", nonce: "2") && nonces.contains(signer: "b", nonce: "1") && nonces.count == 2)
        nonces.expire(before: 301)
        #expect(nonces.count == 0)
        // The same key seen again after its first sighting expired from the front: the later one stands.
        nonces.insert(signer: "c", nonce: "1", timestampMs: 400)
        nonces.insert(signer: "c", nonce: "1", timestampMs: 900)
        nonces.expire(before: 500)
        #expect(nonces.contains(signer: "c", nonce: "1"))
    }
}
