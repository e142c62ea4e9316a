import CrucibleCore
import CrucibleMarket
import CrucibleSim
import CrucibleTestSupport
import Foundation
import Testing

/// `sim market` on the real Philly trace: what must hold whatever the seed, on a network small enough for a test.
@Suite struct MarketSimulationTests {
    static let philly = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../shared/data/traces/philly/philly.csv").standardized.path

    @Test(.compute) func theEngineKeepsTheNetworkBusierAndTheQueueShorterThanFirstFitFIFO() async throws {
        let simulation = MarketSimulation(trace: try Traces.jobs(path: Self.philly), configuration: .init(seed: 2, gpus: 400, load: 1.0, days: 2, buckets: 8))
        #expect(simulation.fleet.gpuCount == 400)
        let outcomes = simulation.run()
        let engine = try #require(outcomes.first { $0.scheduler == .crucible })
        let fifo = try #require(outcomes.first { $0.scheduler == .firstFitFIFO })
        for outcome in outcomes {
            #expect(outcome.jobs == simulation.jobCount)
            #expect(outcome.refused == engine.refused, "both refuse the same impossible jobs")
            #expect(outcome.started + outcome.refused + outcome.waitingAtEnd <= outcome.jobs)
            #expect((0...1).contains(outcome.utilization))
            #expect(outcome.buckets.allSatisfy { (0...1.000001).contains($0.utilization) && $0.idleGPUs >= -1e-6 })
            #expect(outcome.delayP50S <= outcome.delayP99S)
        }
        // Backfill and fragmentation-aware placement: more GPUs busy, more jobs started, shorter waits.
        #expect(engine.utilization > fifo.utilization)
        #expect(engine.started > fifo.started)
        #expect(engine.delayP99S < fifo.delayP99S)
        // The same seed replays the same market.
        let again = MarketSimulation(trace: try Traces.jobs(path: Self.philly), configuration: .init(seed: 2, gpus: 400, load: 1.0, days: 2, buckets: 8)).run()
        #expect(again.map(\.started) == outcomes.map(\.started) && again.map(\.utilization) == outcomes.map(\.utilization))
    }

    @Test func aFleetHasTheGPUsAskedForAndSitesFarApartAreFarApart() {
        let fleet = SimulatedFleet(gpus: 1_000, seed: 5)
        #expect(fleet.gpuCount == 1_000)
        #expect(fleet.nodes.allSatisfy { $0.gpus.allSatisfy(\.known) })
        let sites = SimulatedFleet.sites.map(\.name)
        let east = fleet.siteOfNode.firstIndex(of: sites.firstIndex(of: "us-east")!)!
        let tokyo = fleet.siteOfNode.firstIndex(of: sites.firstIndex(of: "ap-east")!)!
        let neighbour = fleet.siteOfNode.indices.first { $0 != east && fleet.siteOfNode[$0] == fleet.siteOfNode[east] }!
        #expect(fleet.roundTripMs(east, neighbour) == 1)
        // New York area to Tokyo is about 10,900 km: over 100 ms there and back in fibre.
        #expect((100...120).contains(fleet.roundTripMs(east, tokyo)))
        #expect(fleet.roundTripMs(east, tokyo) == fleet.roundTripMs(tokyo, east))
    }

    @Test(arguments: ["2017-10-09 07:01:55", "2000-02-29 23:59:59", "1970-01-01 00:00:00", "2024-12-31 12:00:00"])
    func traceTimestampsReadAsUTC(_ text: String) throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        let expected = Int64(try #require(formatter.date(from: text)).timeIntervalSince1970)
        #expect(Traces.utcSeconds(text) == expected)
    }

    @Test(arguments: ["2017-10-09T07:01:55", "2017-13-09 07:01:55", "2017-10-09 24:00:00", "yesterday", "2017-10-09 07:01:5x"])
    func otherTimestampsAreRefused(_ text: String) {
        #expect(Traces.utcSeconds(text) == nil)
    }
}
