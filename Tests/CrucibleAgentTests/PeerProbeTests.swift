import CrucibleAgent
import CrucibleCore
import CrucibleTestSupport
import Foundation
import Testing

/// The link probe over real loopback TCP: measurements against it, and what it does with input outside its protocol.
@Suite(.network) struct PeerProbeTests {
    /// Connects a plain socket to the probe, sends `bytes`, and returns what comes back until `expecting` bytes have
    /// arrived or the probe closes the connection. A loaded machine may take seconds to answer, so each wait allows ten.
    /// The socket blocks, so it runs on a thread of its own: on the cooperative pool it would hold up the probe it waits for.
    func exchange(_ bytes: [UInt8], expecting: Int = 0, port: Int) async throws -> [UInt8] {
        try await onOwnThread { try Self.blockingExchange(bytes, expecting: expecting, port: port) }
    }

    static func blockingExchange(_ bytes: [UInt8], expecting: Int, port: Int) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        #expect(connected)
        // Generous: under the full suite the cooperative pool that serves the probe was seen busy for 20–35 s at the start.
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 64)
        while expecting == 0 || received.count < expecting {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return received
    }

    @Test func aPeerMeasuresRoundTripAndBandwidthAgainstTheProbe() async throws {
        let probe = try await PeerProbeServer.start(host: "127.0.0.1")
        #expect(probe.port > 0 && probe.endpoint == "127.0.0.1:\(probe.port)")
        // A minute, not the agent's 5 s: the suite's start loads the machine, and this checks the measurement, not its speed.
        let result = try await LinkMeasurer.measure(host: "127.0.0.1", port: probe.port, pings: 3, bulkBytes: 1 << 20, timeoutMs: 60_000)
        #expect(result.roundTripUs > 0 && result.roundTripUs < 1_000_000, "loopback round trip \(result.roundTripUs) µs")
        #expect(result.bandwidthMbps > 0)
        // The probe serves one connection after another.
        _ = try await LinkMeasurer.measure(host: "127.0.0.1", port: probe.port, pings: 1, bulkBytes: 1, timeoutMs: 60_000)
        await probe.close()
        // Closed, it measures nothing: a clear error, not a hang.
        await #expect(throws: (any Error).self) { try await LinkMeasurer.measure(host: "127.0.0.1", port: probe.port, timeoutMs: 2_000) }
    }

    @Test func inputOutsideTheProtocolClosesTheConnection() async throws {
        let probe = try await PeerProbeServer.start(host: "127.0.0.1")
        // Pings are echoed, in order, as many as are sent.
        #expect(try await exchange(Array("ppp".utf8), expecting: 3, port: probe.port).prefix(3) == Array("ppp".utf8)[...])
        // An unknown byte ends the connection: whatever follows it is not answered.
        #expect(try await exchange(Array("xp".utf8), port: probe.port).isEmpty)
        // A bulk transfer longer than the limit, or of no bytes, is refused before anything is read.
        let tooLong = UInt32(PeerProbeServer.bulkBytesMax + 1)
        #expect(try await exchange([UInt8(ascii: "b")] + withUnsafeBytes(of: tooLong.bigEndian, Array.init) + Array("p".utf8), port: probe.port).isEmpty)
        #expect(try await exchange([UInt8(ascii: "b"), 0, 0, 0, 0, UInt8(ascii: "p")], port: probe.port).isEmpty)
        // A complete bulk transfer is acknowledged once all of it has arrived.
        #expect(try await exchange([UInt8(ascii: "b"), 0, 0, 0, 3, 1, 2, 3, UInt8(ascii: "p")], expecting: 2, port: probe.port) == Array("kp".utf8))
        await probe.close()
    }

    @Test func aSilentPeerTimesOutWithAClearError() async throws {
        // A listener that accepts and never answers.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        #expect(listening)
        let port = Int(UInt16(bigEndian: address.sin_port))
        await #expect { try await LinkMeasurer.measure(host: "127.0.0.1", port: port, timeoutMs: 500) } throws: {
            ($0 as? CrucibleError)?.code == .unavailable && ($0 as? CrucibleError)?.message.contains("did not answer within 500 ms") == true
        }
    }
}
