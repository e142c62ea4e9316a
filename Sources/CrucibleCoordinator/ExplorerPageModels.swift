/// What the explorer's templates read, by reflection: one value per page, and the rows and figures within them.
extension ExplorerPages {
    struct Figure {
        var label: String
        var value: String
        var link: String
    }

    struct Footer {
        var json: String
        var coordinator: String
        var logHead: Int64
    }

    struct GovernancePage {
        struct Change {
            var name: String
            var value: Int64
        }

        struct Grant {
            var to, amount: String
        }

        struct Vote {
            var voter, choice, weight: String
        }

        struct ProposalCard {
            var id, title: String
            var rationale: String?
            var status, statusClass: String
            var effectiveEpoch: Int
            var voting, proposer: String
            var changes: [Change]
            var grants: [Grant]
            var yes, no, abstain, snapshot, turnout, quorum, threshold: String
            var note: String?
            var votes: [Vote]
        }

        let governancePage = true
        var summary: String
        var proposals: [ProposalCard]
        var footer: Footer
    }

    struct LogPage {
        let logPage = true

        struct Row {
            var seq, previous: Int64
            var time, type, text: String
        }

        var subject: String?
        var before: Int64?
        var hasEntries: Bool
        var entries: [Row]
        var older: String?
        var footer: Footer
    }

    struct MissingPage {
        var message: String
        var footer: Footer
    }

    struct JobPage {
        struct RunRow {
            var task: Int
            var taskState, taskClass, id, role: String
            var nodeId: String?
            var shortNode, state, exit, digest, shortDigest, seconds, price, paid: String
        }

        let jobsPage = true
        var id, name, state, stateClass, kind: String
        var taskCount: Int
        var requester, submitted: String
        var closed, waiting: String?
        var resources, maxPrice, maxDuration, verification, escrow, paid, burned, refunded, balance: String
        var runs: [RunRow]
        var footer: Footer
    }

    struct NodePage {
        let nodesPage = true
        var id, shortId, hardware, region, onlineText, onlineClass: String
        var lastSeen: String?
        var operatorShort, proof, proofClass, tops, catalogTops: String
        var passed, failed: Int
        var devices: String?
        var runsDone: Int64
        var runsActive: Int
        var earned: String
        var streak: Int64
        var askGpu, askCpu: String
        var slots: Int
        var samplePercent, staked, stakeRequired, stakeCovers, stakeUnbonding, operatorId: String
        var standing: [Event]
        var hasStanding: Bool
        var standingScanned: Int
        var latest: [Event]
        var logLink: String
        var footer: Footer

        struct Event {
            var seq, previous: Int64
            var time, text: String
            var good: Bool
        }
    }

    struct ModelRow {
        var name: String
        var registered, proven, online, busy, idle: Int
        var meanPrice: String
        var priceRange: String
        var pricedRuns: Int
    }

    struct CloudRow {
        var model, provider, offer, price, asOf, source, sourceHost, network, spread: String
    }

    struct EpochRow {
        var epoch: Int
        var minted, burned, link: String
    }

    struct OverviewPage {
        let overview = true
        var figures: [Figure]
        var models: [ModelRow]
        var workChart: String
        var useChart, useNote: String
        var epochChart: String
        var epochRows: [EpochRow]
        var cloud: [CloudRow]
        var rateNote: String
        var footer: Footer
    }

    struct NodeRow {
        var id, shortId, hardware, region, onlineText, onlineClass, proof, proofClass, tops: String
        var passed, failed: Int
        var runsDone: Int64
        var earned: String
        var streak: Int64
    }

    struct NodesPage {
        let nodesPage = true
        var summary: String
        var nodes: [NodeRow]
        var next, first: String?
        var footer: Footer
    }

    struct JobRow {
        var id, name, state, stateClass, verified: String
        var disputed, failed: Int
        var paid, burned, submitted: String
    }

    struct JobsPage {
        let jobsPage = true
        var summary: String
        var jobs: [JobRow]
        var footer: Footer
    }
}
