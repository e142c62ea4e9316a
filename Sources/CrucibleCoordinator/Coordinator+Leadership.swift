import CrucibleCore
import CrucibleStore
import Foundation
import Logging

/// Several coordinators over one PostgreSQL database: each serves the API; the one holding the lead (an advisory lock,
/// see `CrucibleStore.takeLeadership`) writes the log and makes every decision; the others tail the log for reads and
/// forward the rest to it (`LeaderForwardingMiddleware`), and one of them takes the lead when the leader is gone.
extension Coordinator {
    /// How often a leader checks that its database session still holds the lead.
    static let leadCheckPeriodMs: Int64 = 1_000
    /// The exit status of a leader that found another coordinator leading: its supervisor should start it again.
    public static let deposedExitCode: Int32 = 75

    static let notLeading = CrucibleError(
        .unavailable, "this coordinator follows the leader and does not write the log; send the request to the leader", retryAfterS: 1
    )

    /// Starts serving at `url` (where other coordinators forward requests) and takes the lead if nobody holds it.
    /// Returns whether this coordinator leads now.
    @discardableResult
    public func serve(at url: String) async -> Bool {
        advertisedURL = url
        if !isLeader { await follow() }
        return isLeader
    }

    /// Where the leader is reached, as it recorded when it took the lead; nil when this coordinator leads.
    public func leaderURL() async throws -> String? {
        if isLeader { return nil }
        return try await store.leaderAddress()
    }

    /// One step of a follower: reads what the leader wrote since, and takes the lead if nobody holds it. A step asked
    /// for while one runs (the decision loop's, and `serve`'s) waits for that one instead.
    func follow() async {
        if let running = followStep { return await running.value }
        let step = Task { await self.followOnce() }
        followStep = step
        await step.value
        followStep = nil
    }

    private func followOnce() async {
        do {
            try await catchUp()
            guard !advertisedURL.isEmpty else { return }
            if try await store.takeLeadership(address: advertisedURL, atMs: clock()) {
                logger.notice("took the lead", metadata: ["address": "\(advertisedURL)", "logHead": "\(logHead)"])
                try await assumeLeadership()
            }
        } catch {
            logger.error("following the leader's log failed", metadata: ["error": "\(error)"])
        }
    }

    /// A leader's check that it still leads. Its database session may have been lost (PostgreSQL restarted) and the
    /// lock with it; it takes the lock again unless another coordinator did, in which case it stops: what it holds in
    /// memory may be ahead of what the new leader reads.
    func keepLeadership() async {
        do {
            if try await store.holdsLeadership() { return }
            if try await store.takeLeadership(address: advertisedURL, atMs: clock()) {
                logger.notice("took the lead again after its database session was lost")
                return
            }
        } catch {
            // The database is out of reach: commits wait for it, and the next check looks again.
            return
        }
        logger.critical("deposed: another coordinator took the lead while this one's database session was lost")
        exit(Self.deposedExitCode)
    }

    /// Returns once this coordinator has read the log up to `seq` (what the leader had written when it answered a
    /// forwarded request), or after `timeout`: a client that wrote through a follower then reads its own write there.
    public func waitFollowed(_ seq: Int64, timeout: Duration = .seconds(2)) async {
        let deadline = ContinuousClock.now + timeout
        while logHead < seq && ContinuousClock.now < deadline {
            try? await catchUp()
            if logHead < seq { try? await Task.sleep(for: .milliseconds(10)) }
        }
    }

    /// The last log entry on disk: what a forwarded request's answer tells the follower to read up to.
    public var durableLogHead: Int64 { durableSeq }
}
